package io.mmulab.testkit.dmirror;

import static io.mmulab.api.hmm.HmmPfnLayout.ERROR;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;
import static io.mmulab.api.hmm.HmmPfnLayout.VALID;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.MmStruct;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.MigrateVma;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimMm;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.mm.Vma;
import io.mmulab.testkit.dmirror.DmirrorPageTable.Entry;
import io.mmulab.testkit.dmirror.DmirrorPageTable.Tag;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * One open of a dmirror device (kernel {@code struct dmirror}, one per {@code open()} of {@code
 * /dev/hmm_dmirrorN}): bound to the address space of the process that opened it, with a device page
 * table, one mutex (the update lock), one subscription to invalidations and a flags word. The
 * commands of {@link DmirrorCommand} run through {@link #ioctl}, with the kernel's validation,
 * error codes and counters ({@code docs/dmirror.md}).
 *
 * <p>The device touches memory only through its page table, with {@code PhysicalMemory}'s device
 * accessors under the mutex, so the coherency checker sees every access with the translation used
 * (device id {@link #id()}, one per open). The table is programmed and zapped under the mutex, and
 * each change is reported there.
 *
 * <p>Like the kernel's, a mirror stays bound to the opener's address space: after {@code fork} the
 * child must open its own. Commands may run concurrently on several threads; {@link #close} must
 * not race with them.
 */
public final class DmirrorMirror implements AutoCloseable {
  static final long PAGE_SIZE = AddressSpace.PAGE_SIZE;
  static final int PAGE_SHIFT = AddressSpace.PAGE_SHIFT;
  private static final int WORDS_PER_PAGE = (int) (PAGE_SIZE / 8);

  /** Pages per {@code hmm_range_fault} call of the fault path (kernel: {@code pfns[64]}). */
  static final int FAULT_CHUNK = 64;

  /** Pages per temporary subscription of SNAPSHOT. */
  static final int SNAPSHOT_CHUNK = 64;

  /**
   * Pages per {@code migrate_vma} of MIGRATE_TO_DEV and MIGRATE_TO_SYS (the newest kernels: one PTE
   * table, so that an aligned huge page fits in one migration).
   */
  static final int MIGRATE_CHUNK = 512;

  /** The largest bounce buffer the device allocates (kernel: what {@code vmalloc} can give). */
  static final long MAX_BOUNCE_BYTES = 1L << 30;

  /** The {@code hmm_pfns} layout the device reads. */
  static final HmmPfnLayout LAYOUT = HmmPfnLayout.MAINLINE;

  private static final int PMD_ORDER = 9;
  private static final int HPAGE_PAGES = 1 << PMD_ORDER;
  private static final int PUD_ORDER = 18;

  private final Dmirror device;
  private final DriverVariant variant;
  private final SimProcess process;
  private final SimMm sim;
  private final MmStruct mm;
  private final String mmName;
  private final String id;
  private final SyncRuntime rt;
  private final PhysicalMemory memory;
  private final CoherencyChecker checker;
  private final Mutex mutex;
  private final DmirrorPageTable table;
  private final MirrorSync sync;
  private final AtomicLong flags = new AtomicLong();
  private final DriverStats stats = new DriverStats();
  private volatile boolean closed;
  private volatile @Nullable Runnable afterLookupHook;

  private DmirrorMirror(Dmirror device, SimProcess process, DriverVariant variant, String id) {
    this.device = device;
    this.variant = variant;
    this.process = process;
    this.sim = process.sim();
    this.mm = process.mm();
    this.mmName = mm.name();
    this.id = id;
    this.rt = device.runtime();
    this.memory = device.memory();
    this.checker = memory.checker();
    this.mutex = rt.newMutex(id + ".mutex");
    this.table = new DmirrorPageTable(mutex, checker, id, mmName);
    this.sync =
        switch (variant) {
          case CONSOLIDATED -> new ConsolidatedSync(this);
          case LEGACY -> new LegacySync(this);
          case AS_MERGED ->
              throw new IllegalArgumentException("dmirror has no " + variant + " variant");
        };
  }

  /** Kernel {@code dmirror_fops_open}: declares the device and subscribes to the whole space. */
  static DmirrorMirror open(Dmirror device, SimProcess process, DriverVariant variant, String id)
      throws ErrnoException {
    Objects.requireNonNull(process, "process is null");
    Objects.requireNonNull(variant, "variant is null");
    DmirrorMirror m = new DmirrorMirror(device, process, variant, id);
    m.checker.declareDevice(id, CoherencyModel.SHADOW_PTE);
    m.sync.open();
    return m;
  }

  // ---------------------------------------------------------------------------------------------
  // Accessors

  /**
   * Returns the checker's device id of this open, such as {@code "dmirror0.m1"}.
   *
   * @return the id
   */
  public String id() {
    return id;
  }

  /**
   * Returns the device this mirror was opened on.
   *
   * @return the device
   */
  public Dmirror device() {
    return device;
  }

  /**
   * Returns the variant.
   *
   * @return {@link DriverVariant#CONSOLIDATED} or {@link DriverVariant#LEGACY}
   */
  public DriverVariant variant() {
    return variant;
  }

  /**
   * Returns the process whose address space this mirror is bound to.
   *
   * @return the opener
   */
  public SimProcess process() {
    return process;
  }

  /**
   * Returns the mirror flags word (FLAGS).
   *
   * @return the flags
   */
  public long flags() {
    return flags.get();
  }

  /**
   * Returns how many entries the device page table holds (takes the mutex).
   *
   * @return the count
   */
  public int mappedPages() {
    mutex.lock();
    try {
      return table.size();
    } finally {
      mutex.unlock();
    }
  }

  /**
   * Tells whether {@link #close} was called.
   *
   * @return true once closed
   */
  public boolean isClosed() {
    return closed;
  }

  MmStruct mm() {
    return mm;
  }

  SimMm sim() {
    return sim;
  }

  String mmName() {
    return mmName;
  }

  SyncRuntime runtime() {
    return rt;
  }

  CoherencyChecker checker() {
    return checker;
  }

  Mutex mutex() {
    return mutex;
  }

  /** Test seam: runs on the device's thread between a lookup and taking the update lock. */
  void setAfterLookupHook(Runnable hook) {
    this.afterLookupHook = hook;
  }

  void afterLookup() {
    rt.yieldPoint(id + ": after page lookup, before the update lock");
    Runnable hook = afterLookupHook;
    if (hook != null) {
      hook.run();
    }
  }

  /**
   * Returns what this open counted: a fault per {@code dmirror_range_fault} chunk committed to the
   * device table, a retry per lookup its variant's check sent round again, an invalidation per
   * callback of its subscriptions.
   *
   * @return the counters
   */
  DriverStats stats() {
    return stats;
  }

  // ---------------------------------------------------------------------------------------------
  // Invalidation (both variants)

  /**
   * Kernel {@code dmirror_interval_invalidate} (consolidated) and {@code
   * sync_cpu_device_pagetables} (legacy): take the mutex (only try it for a non-blockable range),
   * publish the sequence, erase the device entries of the range, unlock.
   *
   * <p>Skipped: this device's own EXCLUSIVE invalidations (the EXCLUSIVE command maps the page
   * itself, and the frame does not change). Not skipped, unlike newer kernels: this device's own
   * MIGRATE invalidations. The kernel keeps the old frame mapped in the device table across its own
   * migration and overwrites it afterwards; the coherency checker (rightly) calls a device
   * translation that outlives the CPU entry without any invalidation stale, so this port erases the
   * entries here, as the first version of the driver (v5.8) did, and maps the migrated pages once
   * the migration is finalized.
   *
   * @param subscription the subscription's name, for the checker
   * @param range the invalidation
   * @param publish {@code setSeq(curSeq)}, run under the mutex (no-op for the legacy notifier)
   * @param seq the sequence value, for the checker's trace
   * @return false only if a non-blockable range found the mutex taken
   */
  boolean invalidate(String subscription, MmuNotifierRange range, Runnable publish, long seq) {
    stats.invalidation();
    if (range.event() == MmuNotifierEvent.EXCLUSIVE && range.owner() == device) {
      return true;
    }
    checker.invalidateCallbackEntered(id, subscription, mmName, range.start(), range.end());
    if (range.blockable()) {
      mutex.lock();
    } else if (!mutex.tryLock()) {
      stats.refused();
      return false;
    }
    try {
      publish.run();
      table.eraseRange(range.start(), range.end());
      checker.invalidateCallbackReturned(id, subscription, mmName, range.start(), range.end(), seq);
    } finally {
      mutex.unlock();
    }
    return true;
  }

  /** Erases the entry of one page under the mutex (the CPU fault path's {@code xa_erase}). */
  void erase(long va) {
    mutex.lock();
    try {
      table.erase(va);
    } finally {
      mutex.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The command entry point

  /**
   * Runs a command by number, as the {@code ioctl} of the device file does: checks that {@code
   * addr} is page-aligned and that {@code addr + npages * PAGE_SIZE} is above {@code addr}
   * (unsigned), zeroes the counters, dispatches, and copies {@code cpages} and {@code faults} back
   * into {@code cmd} only on success.
   *
   * @param nr the command number ({@link DmirrorCommand#nr()})
   * @param cmd the command block
   * @throws ErrnoException {@link Errno#EINVAL} for bad arguments, an unknown command or a closed
   *     file; otherwise as the command fails (see {@link DmirrorCommand})
   */
  public void ioctl(long nr, DmirrorCmd cmd) throws ErrnoException {
    Objects.requireNonNull(cmd, "cmd is null");
    if (closed) {
      throw new ErrnoException(Errno.EINVAL, id + " is closed");
    }
    long addr = cmd.addr();
    long npages = cmd.npages();
    if ((addr & (PAGE_SIZE - 1)) != 0) {
      throw new ErrnoException(
          Errno.EINVAL, "addr 0x" + Long.toHexString(addr) + " is not page-aligned");
    }
    if (Long.compareUnsigned(addr, addr + (npages << PAGE_SHIFT)) >= 0) {
      throw new ErrnoException(
          Errno.EINVAL,
          "addr 0x" + Long.toHexString(addr) + " + " + npages + " pages is empty or wraps");
    }
    DmirrorCommand command =
        DmirrorCommand.of(nr)
            .orElseThrow(() -> new ErrnoException(Errno.EINVAL, "unknown dmirror command 0x" + nr));
    Block b = new Block(addr, npages, cmd.ptr());
    switch (command) {
      case READ -> read(b);
      case WRITE -> write(b);
      case MIGRATE_TO_DEV -> migrateToDevice(b);
      case MIGRATE_TO_SYS -> migrateToSystem(b);
      case SNAPSHOT -> snapshot(b);
      case EXCLUSIVE -> exclusive(b);
      case CHECK_EXCLUSIVE -> checkExclusive(b);
      case RELEASE -> device.removeChunks();
      case FLAGS -> flags.set(b.npages);
    }
    cmd.setCounters(b.cpages, b.faults);
  }

  /**
   * Runs {@code command} on {@code cmd}; see {@link #ioctl(long, DmirrorCmd)}.
   *
   * @param command the command
   * @param cmd the command block
   * @throws ErrnoException as the command fails
   */
  public void ioctl(DmirrorCommand command, DmirrorCmd cmd) throws ErrnoException {
    ioctl(command.nr(), cmd);
  }

  /** The kernel's working copy of the command block. */
  private static final class Block {
    final long addr;
    final long npages;
    final byte[] ptr;
    long cpages;
    long faults;

    Block(long addr, long npages, byte[] ptr) {
      this.addr = addr;
      this.npages = npages;
      this.ptr = ptr;
    }

    long size() {
      return npages << PAGE_SHIFT;
    }

    long end() {
      return addr + size();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // READ and WRITE

  /** Kernel {@code dmirror_read}. */
  private void read(Block cmd) throws ErrnoException {
    long start = cmd.addr;
    long end = cmd.end();
    long[] bounce = bounce(cmd.size());
    while (true) {
      boolean missing;
      mutex.lock();
      try {
        missing = !doRead(start, end, bounce, cmd);
      } finally {
        mutex.unlock();
      }
      if (!missing) {
        break;
      }
      start = cmd.addr + (cmd.cpages << PAGE_SHIFT);
      faultOrFail(start, end, false);
      cmd.faults++;
    }
    copyToUser(cmd.ptr, bounce, 0);
  }

  /** Kernel {@code dmirror_do_read}: false (ENOENT) at the first page without an entry. */
  private boolean doRead(long start, long end, long[] bounce, Block cmd) {
    int w = (int) ((start - cmd.addr) >>> 3);
    for (long va = start; Long.compareUnsigned(va, end) < 0; va += PAGE_SIZE) {
      Entry e = table.load(va);
      if (e == null) {
        return false;
      }
      for (int i = 0; i < WORDS_PER_PAGE; i++) {
        bounce[w++] =
            memory.deviceReadLong(id, CoherencyChecker.NO_OP, mmName, va + 8L * i, e.pfn());
      }
      cmd.cpages++;
    }
    return true;
  }

  /** Kernel {@code dmirror_write}. */
  private void write(Block cmd) throws ErrnoException {
    long start = cmd.addr;
    long end = cmd.end();
    long[] bounce = bounce(cmd.size());
    copyFromUser(cmd.ptr, bounce);
    while (true) {
      boolean missing;
      mutex.lock();
      try {
        missing = !doWrite(start, end, bounce, cmd);
      } finally {
        mutex.unlock();
      }
      if (!missing) {
        break;
      }
      start = cmd.addr + (cmd.cpages << PAGE_SHIFT);
      faultOrFail(start, end, true);
      cmd.faults++;
    }
  }

  /** Kernel {@code dmirror_do_write}: false at the first page without a writable entry. */
  private boolean doWrite(long start, long end, long[] bounce, Block cmd) {
    int w = (int) ((start - cmd.addr) >>> 3);
    for (long va = start; Long.compareUnsigned(va, end) < 0; va += PAGE_SIZE) {
      Entry e = table.load(va);
      if (e == null || e.tag() != Tag.WRITE) {
        return false;
      }
      for (int i = 0; i < WORDS_PER_PAGE; i++) {
        memory.deviceWriteLong(
            id, CoherencyChecker.NO_OP, mmName, va + 8L * i, e.pfn(), bounce[w++]);
      }
      cmd.cpages++;
    }
    return true;
  }

  /**
   * The kernel's {@code dmirror_fault} returns 0 without doing anything once the process is gone,
   * and its READ/WRITE loop would then spin forever on the missing entry; this port fails the
   * command with {@code EFAULT} instead.
   */
  private void faultOrFail(long start, long end, boolean write) throws ErrnoException {
    if (!fault(start, end, write)) {
      throw new ErrnoException(Errno.EFAULT, mmName + " has exited: nothing to fault in");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The fault path

  /**
   * Kernel {@code dmirror_fault}: faults {@code [start, end)} into the device table in chunks of
   * {@link #FAULT_CHUNK} pages, each with the collision-retry loop of the variant.
   *
   * @return false if the process has no users any more (nothing done)
   */
  boolean fault(long start, long end, boolean write) throws ErrnoException {
    if (!mm.mmgetNotZero()) {
      return false;
    }
    try {
      for (long addr = start; Long.compareUnsigned(addr, end) < 0; ) {
        long next = chunkEnd(addr, end, FAULT_CHUNK);
        rangeFault(addr, next, write);
        addr = next;
      }
    } finally {
      mm.mmput();
    }
    return true;
  }

  /** Kernel {@code dmirror_range_fault} with {@code dmirror_do_fault} as the programming step. */
  private void rangeFault(long start, long end, boolean write) throws ErrnoException {
    long flagsRequested = REQ_FAULT | (write ? REQ_WRITE : 0);
    sync.retry(
        start,
        end,
        false,
        new MirrorSync.Attempt<long[]>() {
          @Override
          public long[] lookup(MmuIntervalNotifier notifier, long seq) throws ErrnoException {
            return hmmRangeFault(notifier, seq, start, end, flagsRequested);
          }

          @Override
          public void commit(long[] pfns) throws ErrnoException {
            for (int i = 0; i < pfns.length; i++) {
              long e = pfns[i];
              long va = start + ((long) i << PAGE_SHIFT);
              if ((e & ERROR) != 0 || (e & VALID) == 0) {
                throw new IllegalStateException(
                    "hmmRangeFault succeeded with entry 0x"
                        + Long.toHexString(e)
                        + " at 0x"
                        + Long.toHexString(va));
              }
              Tag tag;
              if ((e & WRITE) != 0) {
                tag = Tag.WRITE;
              } else if (write) {
                throw new ErrnoException(
                    Errno.EFAULT,
                    "write fault at 0x" + Long.toHexString(va) + " returned a read-only page");
              } else {
                tag = Tag.READ;
              }
              table.store(va, LAYOUT.pfn(e), tag);
            }
            stats.fault();
          }
        });
  }

  /** One {@code hmm_range_fault} under the mmap lock; returns the output entries. */
  private long[] hmmRangeFault(
      MmuIntervalNotifier notifier, long seq, long start, long end, long defaultFlags)
      throws ErrnoException {
    long[] pfns = new long[(int) ((end - start) >>> PAGE_SHIFT)];
    HmmRange range = new HmmRange(notifier, seq, start, end, pfns, defaultFlags, 0, device, LAYOUT);
    RwSemaphore lock = mm.mmapLock();
    lock.downRead();
    try {
      mm.hmmRangeFault(range);
    } finally {
      lock.upRead();
    }
    return pfns;
  }

  // ---------------------------------------------------------------------------------------------
  // SNAPSHOT

  /** Kernel {@code dmirror_snapshot}. */
  private void snapshot(Block cmd) throws ErrnoException {
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EINVAL, mmName + " has exited");
    }
    try {
      long end = cmd.end();
      int offset = 0;
      for (long addr = cmd.addr; Long.compareUnsigned(addr, end) < 0; ) {
        long next = chunkEnd(addr, end, SNAPSHOT_CHUNK);
        byte[] perm = rangeSnapshot(addr, next);
        if (cmd.ptr == null || cmd.ptr.length < offset + perm.length) {
          throw new ErrnoException(Errno.EFAULT, "SNAPSHOT buffer too short");
        }
        System.arraycopy(perm, 0, cmd.ptr, offset, perm.length);
        offset += perm.length;
        cmd.cpages += perm.length;
        addr = next;
      }
    } finally {
      mm.mmput();
    }
  }

  /** Kernel {@code dmirror_range_snapshot}: the bytes of one chunk, under its own subscription. */
  private byte[] rangeSnapshot(long start, long end) throws ErrnoException {
    byte[] perm = new byte[(int) ((end - start) >>> PAGE_SHIFT)];
    sync.retry(
        start,
        end,
        true,
        new MirrorSync.Attempt<long[]>() {
          @Override
          public long[] lookup(MmuIntervalNotifier notifier, long seq) throws ErrnoException {
            return hmmRangeFault(notifier, seq, start, end, 0);
          }

          @Override
          public void commit(long[] pfns) {
            for (int i = 0; i < pfns.length; i++) {
              perm[i] = (byte) mkentry(pfns[i]);
            }
          }
        });
    return perm;
  }

  /** Kernel {@code dmirror_mkentry}: the permission byte of one {@code hmm_pfns} entry. */
  private int mkentry(long e) {
    if ((e & ERROR) != 0) {
      return DmirrorProt.ERROR;
    }
    if ((e & VALID) == 0) {
      return DmirrorProt.NONE;
    }
    long pfn = LAYOUT.pfn(e);
    Dmirror owner = device.devices().ownerOf(pfn);
    int perm;
    if (owner != null && owner.isCoherent()) {
      perm = owner == device ? DmirrorProt.DEV_COHERENT_LOCAL : DmirrorProt.DEV_COHERENT_REMOTE;
    } else if (owner != null) {
      perm = owner == device ? DmirrorProt.DEV_PRIVATE_LOCAL : DmirrorProt.DEV_PRIVATE_REMOTE;
    } else if (pfn == PhysicalMemory.ZERO_PFN) {
      perm = DmirrorProt.ZERO;
    } else {
      perm = DmirrorProt.NONE;
    }
    perm |= (e & WRITE) != 0 ? DmirrorProt.WRITE : DmirrorProt.READ;
    int order = LAYOUT.order(e);
    if (order == PMD_ORDER) {
      perm |= DmirrorProt.PMD;
    } else if (order == PUD_ORDER) {
      perm |= DmirrorProt.PUD;
    }
    return perm;
  }

  // ---------------------------------------------------------------------------------------------
  // MIGRATE_TO_DEV and MIGRATE_TO_SYS

  /** Kernel {@code dmirror_migrate_to_device}. */
  private void migrateToDevice(Block cmd) throws ErrnoException {
    long start = cmd.addr;
    long end = cmd.end();
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EINVAL, mmName + " has exited");
    }
    try {
      RwSemaphore lock = mm.mmapLock();
      lock.downRead();
      try {
        for (long addr = start; Long.compareUnsigned(addr, end) < 0; ) {
          Vma vma = readableVma(addr);
          long next = Math.min(chunkEnd(addr, end, MIGRATE_CHUNK), vma.end());
          migrateChunkToDevice(addr, next);
          addr = next;
        }
      } finally {
        lock.upRead();
      }
      mapDevicePages(start, end);
    } finally {
      mm.mmput();
    }
    long[] bounce = bounce(cmd.size());
    mutex.lock();
    boolean complete;
    try {
      complete = doRead(start, end, bounce, cmd);
    } finally {
      mutex.unlock();
    }
    if (!complete) {
      throw new ErrnoException(
          Errno.ENOENT,
          "page 0x"
              + Long.toHexString(start + (cmd.cpages << PAGE_SHIFT))
              + " is not in "
              + device.name()
              + "'s memory after migration");
    }
    copyToUser(cmd.ptr, bounce, 0);
  }

  /**
   * One {@code migrate_vma} of {@code [start, end)} (inside one VMA) into device memory: kernel
   * {@code migrate_vma_setup}, {@code dmirror_migrate_alloc_and_copy}, {@code migrate_vma_pages},
   * {@code migrate_vma_finalize}. The mmap lock is held.
   */
  private void migrateChunkToDevice(long start, long end) throws ErrnoException {
    int n = (int) ((end - start) >>> PAGE_SHIFT);
    MigrateVma m =
        MigrateVma.setup(
            sim, start, end, device, MigrateVma.SELECT_SYSTEM | MigrateVma.SELECT_COMPOUND);
    try {
      for (int i = 0; i < n; ) {
        if (m.isCompound(i)) {
          allocUnit(m, start, i);
          i += HPAGE_PAGES;
        } else {
          if (m.isMigrating(i) && !m.srcIsDevicePrivate(i) && !failAllocOnce()) {
            allocAndCopy(m, start, i);
          }
          i++;
        }
      }
      m.pages();
    } finally {
      m.finalizeMigration();
    }
  }

  /**
   * A PMD-sized unit (a huge page, the huge zero page, or an empty aligned block): the device's
   * huge allocation, which stays one 2 MiB device page, and when it fails (FAIL_ALLOC), the
   * fallback to 512 base pages, whose own allocations do not consult the flag again (kernel {@code
   * dmirror_migrate_alloc_and_copy}). Coherent memory is handed out in base pages only.
   */
  private void allocUnit(MigrateVma m, long start, int head) {
    boolean failed = failAllocOnce();
    int got = 0;
    for (int i = head; i < head + HPAGE_PAGES; i++) {
      if (m.isMigrating(i) && allocAndCopy(m, start, i)) {
        got++;
      }
    }
    if (!failed && !device.isCoherent() && got == HPAGE_PAGES) {
      m.setHugeDestination(head);
    }
  }

  /** FAIL_ALLOC: true (and the flag cleared) if this allocation is the one forced to fail. */
  private boolean failAllocOnce() {
    return (flags.getAndUpdate(f -> f & ~DmirrorProt.FLAG_FAIL_ALLOC) & DmirrorProt.FLAG_FAIL_ALLOC)
        != 0;
  }

  private boolean allocAndCopy(MigrateVma m, long start, int i) {
    long va = start + ((long) i << PAGE_SHIFT);
    long dpfn = device.allocPage(this, va);
    if (dpfn == CoherencyChecker.NO_PFN) {
      return false;
    }
    if (m.srcPfn(i) != CoherencyChecker.NO_PFN) {
      memory.copy(m.srcPfn(i), dpfn);
    }
    if (device.isCoherent()) {
      m.setDeviceCoherentDestination(i, dpfn, device);
    } else {
      m.setDevicePrivateDestination(i, dpfn, device);
    }
    return true;
  }

  /**
   * Maps every page of {@code [start, end)} that now lives in this device's memory, writable when
   * its CPU entry is (kernel {@code dmirror_migrate_finalize_and_map}). The kernel stores these
   * entries before {@code migrate_vma_finalize}, while the CPU entries are still migration entries;
   * this port maps them afterwards, through the variant's validated lookup, so that every device
   * translation matches the CPU entry it was made from.
   */
  private void mapDevicePages(long start, long end) throws ErrnoException {
    for (long addr = start; Long.compareUnsigned(addr, end) < 0; ) {
      long next = chunkEnd(addr, end, MIGRATE_CHUNK);
      long from = addr;
      sync.retry(
          from,
          next,
          false,
          new MirrorSync.Attempt<long[]>() {
            @Override
            public long[] lookup(MmuIntervalNotifier notifier, long seq) throws ErrnoException {
              return hmmRangeFault(notifier, seq, from, next, 0);
            }

            @Override
            public void commit(long[] pfns) {
              for (int i = 0; i < pfns.length; i++) {
                long e = pfns[i];
                if ((e & VALID) != 0 && device.owns(LAYOUT.pfn(e))) {
                  table.store(
                      from + ((long) i << PAGE_SHIFT),
                      LAYOUT.pfn(e),
                      (e & WRITE) != 0 ? Tag.WRITE : Tag.READ);
                }
              }
            }
          });
      addr = next;
    }
  }

  /** Kernel {@code dmirror_migrate_to_system}. */
  private void migrateToSystem(Block cmd) throws ErrnoException {
    long end = cmd.end();
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EINVAL, mmName + " has exited");
    }
    try {
      RwSemaphore lock = mm.mmapLock();
      lock.downRead();
      try {
        for (long addr = cmd.addr; Long.compareUnsigned(addr, end) < 0; ) {
          Vma vma = readableVma(addr);
          long next = Math.min(chunkEnd(addr, end, MIGRATE_CHUNK), vma.end());
          if (holdsHugeDevicePage(addr, next)) {
            // FAIL_ALLOC fails the huge system allocation of the copy back; it falls back to base
            // pages, which is how the simulation always copies back.
            failAllocOnce();
          }
          cmd.cpages += device.migrateToRam(sim, addr, next, false);
          addr = next;
        }
      } finally {
        lock.upRead();
      }
    } finally {
      mm.mmput();
    }
  }

  private boolean holdsHugeDevicePage(long start, long end) {
    for (long va = start; Long.compareUnsigned(va, end) < 0; va += PAGE_SIZE) {
      PteView pte = sim.lookup(va);
      if (pte.type() == PteView.Type.DEVICE_PRIVATE
          && pte.owner() == device
          && pte.order() == PMD_ORDER) {
        return true;
      }
    }
    return false;
  }

  /** Kernel {@code vma_lookup} plus the {@code VM_READ} check of the migrations. */
  private Vma readableVma(long addr) throws ErrnoException {
    for (Vma v : sim.vmas()) {
      if (Long.compareUnsigned(v.start(), addr) <= 0 && Long.compareUnsigned(addr, v.end()) < 0) {
        if (!v.isReadable()) {
          break;
        }
        return v;
      }
    }
    throw new ErrnoException(
        Errno.EINVAL, "no readable VMA at 0x" + Long.toHexString(addr) + " in " + mmName);
  }

  // ---------------------------------------------------------------------------------------------
  // EXCLUSIVE and CHECK_EXCLUSIVE

  /** Kernel {@code dmirror_exclusive}. */
  private void exclusive(Block cmd) throws ErrnoException {
    long start = cmd.addr;
    long end = cmd.end();
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EINVAL, mmName + " has exited");
    }
    try {
      for (long addr = start; Long.compareUnsigned(addr, end) < 0; addr += PAGE_SIZE) {
        exclusivePage(addr);
      }
    } finally {
      mm.mmput();
    }
    long[] bounce = bounce(cmd.size());
    mutex.lock();
    boolean complete;
    try {
      complete = doRead(start, end, bounce, cmd);
    } finally {
      mutex.unlock();
    }
    if (!complete) {
      throw new ErrnoException(
          Errno.ENOENT,
          "page 0x"
              + Long.toHexString(start + (cmd.cpages << PAGE_SHIFT))
              + " lost its atomic entry before it was read back");
    }
    copyToUser(cmd.ptr, bounce, 0);
  }

  /** What the exclusive lookup found: the frame, and whether we hold a reference on it. */
  private record Exclusive(long pfn, boolean referenced) {}

  /**
   * Kernel {@code make_device_exclusive} + {@code dmirror_atomic_map} for one page. The kernel
   * keeps the folio locked from the conversion to the store, so the CPU cannot take the page back
   * in between; the simulation has no folio lock, so the store is validated like any lookup. The
   * device's own EXCLUSIVE invalidation is skipped by its callback, so it does not count as a
   * collision; a page already exclusive to this device is mapped as it is (converting it again
   * would restore it first, a collision of its own making, forever).
   */
  private void exclusivePage(long addr) throws ErrnoException {
    sync.retry(
        addr,
        addr + PAGE_SIZE,
        false,
        new MirrorSync.Attempt<Exclusive>() {
          @Override
          public Exclusive lookup(MmuIntervalNotifier notifier, long seq) throws ErrnoException {
            RwSemaphore lock = mm.mmapLock();
            lock.downRead();
            try {
              PteView pte = sim.lookup(addr);
              if (pte.type() == PteView.Type.DEVICE_EXCLUSIVE && pte.owner() == device) {
                return new Exclusive(pte.pfn(), false);
              }
              return new Exclusive(sim.makeDeviceExclusive(addr, device), true);
            } finally {
              lock.upRead();
            }
          }

          @Override
          public void commit(Exclusive found) {
            table.store(addr, found.pfn(), Tag.ATOMIC);
          }

          @Override
          public void finish(Exclusive found) {
            if (found.referenced()) {
              memory.put(found.pfn());
            }
          }
        });
  }

  /** Kernel {@code dmirror_check_atomic}. */
  private void checkExclusive(Block cmd) throws ErrnoException {
    mutex.lock();
    try {
      if (table.anyAtomic(cmd.addr, cmd.end())) {
        throw new ErrnoException(
            Errno.EPERM,
            "an entry of [0x"
                + Long.toHexString(cmd.addr)
                + ", 0x"
                + Long.toHexString(cmd.end())
                + ") is still exclusive to "
                + id);
      }
    } finally {
      mutex.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Word access for the driver SPI

  /**
   * The READ algorithm on {@code words} words from {@code va}: copy through the device table under
   * the mutex, fault the rest from the first missing page, repeat.
   */
  long[] readWords(long va, int words) throws ErrnoException {
    long[] out = new long[words];
    long end = va + 8L * words;
    int done = 0;
    while (true) {
      boolean missing = false;
      mutex.lock();
      try {
        while (done < words) {
          long a = va + 8L * done;
          Entry e = table.load(a);
          if (e == null) {
            missing = true;
            break;
          }
          out[done++] = memory.deviceReadLong(id, CoherencyChecker.NO_OP, mmName, a, e.pfn());
        }
      } finally {
        mutex.unlock();
      }
      if (!missing) {
        return out;
      }
      faultOrFail((va + 8L * done) & -PAGE_SIZE, pageUp(end), false);
    }
  }

  /** The WRITE algorithm on words. */
  void writeWords(long va, long[] data) throws ErrnoException {
    long end = va + 8L * data.length;
    int done = 0;
    while (true) {
      boolean missing = false;
      mutex.lock();
      try {
        while (done < data.length) {
          long a = va + 8L * done;
          Entry e = table.load(a);
          if (e == null || e.tag() != Tag.WRITE) {
            missing = true;
            break;
          }
          memory.deviceWriteLong(id, CoherencyChecker.NO_OP, mmName, a, e.pfn(), data[done++]);
        }
      } finally {
        mutex.unlock();
      }
      if (!missing) {
        return;
      }
      faultOrFail((va + 8L * done) & -PAGE_SIZE, pageUp(end), true);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // mmap of the device file (kernel dmirror_fops_mmap)

  /**
   * Maps the device file into the opener's address space, as {@code mmap()} of {@code
   * /dev/hmm_dmirrorN} does: a mixed mapping ({@code VM_MIXEDMAP}) of {@code length} bytes in which
   * the driver inserts a freshly zeroed page at every address ({@code vm_insert_page}) and drops
   * its own reference, so the mapping holds the only one. The entries are writable only in a shared
   * writable mapping; a private one maps them read-only.
   *
   * @param length bytes, rounded up to whole pages
   * @param prot {@code PROT_*}
   * @param flags {@code MAP_SHARED} or {@code MAP_PRIVATE} (plus {@code MAP_FIXED} with {@code
   *     addr})
   * @param addr the address hint, or the address with {@code MAP_FIXED}
   * @return the mapping's start
   * @throws ErrnoException {@link Errno#EINVAL} for a bad length, {@code prot} or {@code flags},
   *     {@link Errno#ENOMEM} if memory runs out (the mapping is removed again)
   */
  public long mmap(long addr, long length, int prot, int flags) throws ErrnoException {
    if (closed) {
      throw new ErrnoException(Errno.EINVAL, id + " is closed");
    }
    if ((flags & Mman.MAP_ANONYMOUS) != 0) {
      throw new ErrnoException(Errno.EINVAL, "MAP_ANONYMOUS with a device file");
    }
    long start = process.mmap(addr, length, prot, flags | Mman.MAP_MIXEDMAP);
    long end = start + ((length + PAGE_SIZE - 1) & -PAGE_SIZE);
    try {
      for (long va = start; va < end; va += PAGE_SIZE) {
        long pfn = memory.alloc(id + " mmap page " + mmName + " 0x" + Long.toHexString(va));
        try {
          process.vmInsertPage(va, pfn);
        } finally {
          memory.put(pfn);
        }
      }
    } catch (ErrnoException e) {
      process.munmap(start, end - start);
      throw e;
    }
    return start;
  }

  // ---------------------------------------------------------------------------------------------
  // close (kernel dmirror_fops_release)

  /**
   * Closes the file: removes the subscription (on return no callback runs), destroys the device
   * table, tells the checker the context is gone, then (as the newest kernels do on every close)
   * evicts all of the device's memory back to system memory. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    sync.close();
    mutex.lock();
    try {
      table.destroy();
    } finally {
      mutex.unlock();
    }
    checker.deviceTornDown(id);
    device.mirrorClosed(this);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private static long[] bounce(long size) throws ErrnoException {
    if (Long.compareUnsigned(size, MAX_BOUNCE_BYTES) > 0) {
      throw new ErrnoException(
          Errno.ENOMEM, "bounce buffer of " + Long.toUnsignedString(size) + " bytes");
    }
    return new long[(int) (size >>> 3)];
  }

  private static void copyToUser(byte[] ptr, long[] bounce, int fromWord) throws ErrnoException {
    if (ptr == null || (long) ptr.length < 8L * bounce.length) {
      throw new ErrnoException(
          Errno.EFAULT, "user buffer too short for " + bounce.length + " words");
    }
    for (int i = fromWord; i < bounce.length; i++) {
      DmirrorCmd.putWord(ptr, i, bounce[i]);
    }
  }

  private static void copyFromUser(byte[] ptr, long[] bounce) throws ErrnoException {
    if (ptr == null || (long) ptr.length < 8L * bounce.length) {
      throw new ErrnoException(
          Errno.EFAULT, "user buffer too short for " + bounce.length + " words");
    }
    for (int i = 0; i < bounce.length; i++) {
      bounce[i] = DmirrorCmd.getWord(ptr, i);
    }
  }

  /** {@code min(addr + pages * PAGE_SIZE, end)}, unsigned and without overflow. */
  private static long chunkEnd(long addr, long end, int pages) {
    long step = (long) pages << PAGE_SHIFT;
    return Long.compareUnsigned(end - addr, step) <= 0 ? end : addr + step;
  }

  private static long pageUp(long va) {
    return (va + PAGE_SIZE - 1) & -PAGE_SIZE;
  }

  @Override
  public String toString() {
    return id + " (" + variant + ") on " + mmName;
  }
}
