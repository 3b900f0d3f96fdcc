package io.mmulab.sim.mm;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.MmBackend;
import io.mmulab.core.MmStruct;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The simulated memory manager of one address space: its VMAs, its CPU page table, and the kernel's
 * page-table operations, each firing the invalidation the kernel fires. It is the {@link MmBackend}
 * of the process's {@link MmStruct}, which drivers see as their {@link AddressSpace}; {@link
 * #of(AddressSpace)} gets back here for the driver-facing kernel calls ({@link
 * #makeDeviceExclusive}, {@link MigrateVma}).
 *
 * <h2>Locking</h2>
 *
 * <ul>
 *   <li>{@code mm.mmapLock()} (kernel {@code mmap_lock}): held for write to change the VMA tree
 *       (mmap, munmap, mprotect, fork, the end of exit); for read (at least) to read it: faults,
 *       GUP, {@code hmmRangeFault}, madvise, NUMA hinting, reclaim, migration, device exclusivity,
 *       the zap at exit; the OOM reaper only try-locks it for read. The VMA tree is touched only
 *       under it.
 *   <li>The page-table lock ({@link PageTable#ptl()}): guards every entry; see {@link PageTable}.
 *       CPU loads and stores of present pages take only this lock, and access the frame inside it,
 *       so they are atomic with respect to entry changes.
 *   <li>The machine's page lock: page cache, swap slots, file stores. Taken under the ptl.
 * </ul>
 *
 * <h2>The kernel order of an invalidating change</h2>
 *
 * Build the range; {@code invalidateRangeStart} (or the non-blocking start); yield point {@code
 * "<op>: between invalidate start and PTE change"}; change the entries under the ptl, telling the
 * checker inside that section; yield point {@code "<op>: between PTE change and invalidate end"};
 * {@code invalidateRangeEnd}; only then drop the references of the frames that were unmapped (as
 * {@code tlb_finish_mmu} frees pages after the end), so a frame is never freed while a callback may
 * still use it.
 */
public final class SimMm implements MmBackend {
  /** Bytes in a base page. */
  public static final long PAGE_SIZE = AddressSpace.PAGE_SIZE;

  /** log2 of {@link #PAGE_SIZE}. */
  public static final int PAGE_SHIFT = AddressSpace.PAGE_SHIFT;

  /** Bytes in a huge (PMD) page. */
  public static final long HPAGE_SIZE = PageTable.HPAGE_SIZE;

  /** The end of user space (47-bit addresses); mappings live below it. */
  public static final long TASK_SIZE = 1L << 47;

  /** Where mappings without a usable hint are placed, bottom-up. */
  static final long MMAP_BASE = 0x1000_0000L;

  final MmStruct mm;
  final SimMachine machine;
  final SyncRuntime rt;
  final PhysicalMemory memory;
  final PageTable pt;
  final FaultHandler faults;

  /** The VMA tree by start address; guarded by the mmap lock. */
  final TreeMap<Long, Vma> vmas = new TreeMap<>();

  private final GupWalker gup;
  private final HmmWalker hmm;
  private volatile boolean torndown;

  SimMm(MmStruct mm, SimMachine machine) {
    this.mm = mm;
    this.machine = machine;
    this.rt = machine.runtime();
    this.memory = machine.memory();
    this.pt = new PageTable(rt, mm, machine.checker(), machine.callbackFailures());
    this.faults = new FaultHandler(this);
    this.gup = new GupWalker(this);
    this.hmm = new HmmWalker(this);
  }

  /**
   * Returns the simulated memory manager behind an address space of a {@link SimMachine}.
   *
   * @param as an address space made by {@link SimMachine#spawnProcess} or {@link SimProcess#fork}
   * @return its backend
   * @throws IllegalArgumentException if it is not a simulated address space
   */
  public static SimMm of(AddressSpace as) {
    if (as instanceof MmStruct m && m.backend() instanceof SimMm s) {
      return s;
    }
    throw new IllegalArgumentException(as + " is not an address space of a SimMachine");
  }

  /**
   * Returns the address space as the core and drivers see it.
   *
   * @return the mm
   */
  public MmStruct mm() {
    return mm;
  }

  /**
   * Returns the machine this address space lives in.
   *
   * @return the machine
   */
  public SimMachine machine() {
    return machine;
  }

  /**
   * Tells whether exit has torn the mappings down.
   *
   * @return true after the last user reference was dropped
   */
  public boolean isTornDown() {
    return torndown;
  }

  // ---------------------------------------------------------------------------------------------
  // MmBackend

  @Override
  public int getUserPages(long start, int nrPages, int gupFlags, long[] pfns)
      throws ErrnoException {
    return machine
        .callbackFailures()
        .collect(() -> gup.getUserPages(start, nrPages, gupFlags, pfns));
  }

  @Override
  public void hmmRangeFault(HmmRange range) throws ErrnoException {
    machine
        .callbackFailures()
        .run(
            () -> {
              hmm.hmmRangeFault(range);
            });
  }

  /**
   * Kernel {@code exit_mmap}: the RELEASE window over {@code [0, ULONG_MAX)}, then, if any VMA
   * exists, one UNMAP window over {@code [0, ULONG_MAX)} (the kernel's {@code unmap_vmas(tlb, …, 0,
   * ULONG_MAX, …)}) that zaps every VMA under the mmap lock held for read; then the VMAs and page
   * tables go under the mmap lock held for write. If a callback throws, the teardown still runs and
   * the throwable is rethrown after it.
   */
  @Override
  public void exitMmap() {
    CallbackFailures failures = machine.callbackFailures();
    failures.run(
        () -> {
          // The core has called every other release and closed the RELEASE window already.
          try {
            mm.mmuNotifierRelease();
          } catch (RuntimeException | Error e) {
            failures.add(e);
          }
          teardown();
        });
  }

  private void teardown() {
    RwSemaphore lock = mm.mmapLock();
    lock.downRead();
    try {
      if (!vmas.isEmpty()) {
        List<Vma> all = new ArrayList<>(vmas.values());
        invalidate(
            new MmuNotifierRange(
                mm, 0, MmuNotifierRange.ULONG_MAX, MmuNotifierEvent.UNMAP, true, null),
            "exit",
            null,
            d -> {
              for (Vma v : all) {
                zap(v, v.start(), v.end(), d);
              }
            });
      }
    } finally {
      lock.upRead();
    }
    lock.downWrite();
    try {
      for (Vma v : vmas.values()) {
        if (v.file() != null) {
          v.file().unmapped();
        }
        unreserveHugetlb(v);
      }
      vmas.clear();
      SpinLock ptl = pt.ptl();
      ptl.lock();
      try {
        pt.freeTables(0, TASK_SIZE, b -> false, b -> false);
      } finally {
        ptl.unlock();
      }
      torndown = true;
    } finally {
      lock.upWrite();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection

  /**
   * Returns a snapshot of the entry mapping {@code va} (takes the page-table lock).
   *
   * @param va any address in the page
   * @return the entry
   */
  public PteView lookup(long va) {
    SpinLock ptl = pt.ptl();
    ptl.lock();
    try {
      return PteView.of(pt.get(va & -PAGE_SIZE));
    } finally {
      ptl.unlock();
    }
  }

  /**
   * Returns the VMAs in address order (takes the mmap lock for read unless the caller holds it).
   *
   * @return a snapshot
   */
  public List<Vma> vmas() {
    RwSemaphore lock = mm.mmapLock();
    boolean held = lock.isHeldByCurrentThread();
    if (!held) {
      lock.downRead();
    }
    try {
      return List.copyOf(vmas.values());
    } finally {
      if (!held) {
        lock.upRead();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Driver-facing kernel calls

  /**
   * Makes the page at {@code addr} exclusive to a device (kernel {@code make_device_exclusive},
   * v6.14+): faults it in writable (breaking copy-on-write, splitting a huge mapping), then, inside
   * an EXCLUSIVE invalidation of that page carrying {@code owner}, replaces the CPU entry by a
   * device-exclusive entry. A later CPU access, GUP or {@code hmmRangeFault} fault restores it with
   * a CLEAR invalidation. The caller must hold the mmap lock.
   *
   * @param addr page-aligned address
   * @param owner the device, passed in the EXCLUSIVE range
   * @return the page's frame, with one reference the caller must drop ({@link PhysicalMemory#put})
   *     once it has mapped the page in its device
   * @throws ErrnoException {@link Errno#EFAULT} if the page cannot be faulted in writable; {@link
   *     Errno#EINVAL} for a page that is not anonymous (the kernel's {@code EOPNOTSUPP})
   * @throws LockRuleViolation if the mmap lock is not held
   */
  public long makeDeviceExclusive(long addr, Object owner) throws ErrnoException {
    requireMmapLock("makeDeviceExclusive");
    checkPageAligned(addr);
    long[] pfn = {0};
    try {
      return machine.callbackFailures().collect(() -> pfn[0] = exclusive(addr, owner));
    } catch (RuntimeException | Error e) {
      if (pfn[0] != 0) {
        memory.put(pfn[0]); // the caller gets no frame: its reference goes now
      }
      throw e;
    }
  }

  private long exclusive(long addr, Object owner) throws ErrnoException {
    while (true) {
      long pfn = gup.getOne(addr, Gup.FOLL_WRITE, true);
      Vma vma = findVma(addr);
      boolean anon;
      SpinLock ptl = pt.ptl();
      ptl.lock();
      try {
        anon = pt.get(addr) instanceof Pte.Present p && p.kind() == Pte.PageKind.ANON;
      } finally {
        ptl.unlock();
      }
      if (!anon || vma == null || vma.isHugetlb()) {
        memory.put(pfn);
        throw new ErrnoException(
            Errno.EINVAL,
            "EOPNOTSUPP: page 0x"
                + Long.toHexString(addr)
                + " of "
                + mm.name()
                + " is not anonymous");
      }
      boolean[] done = {false};
      invalidate(
          new MmuNotifierRange(mm, addr, addr + PAGE_SIZE, MmuNotifierEvent.EXCLUSIVE, true, owner),
          "make_device_exclusive",
          null,
          d -> {
            if (pt.get(addr) instanceof Pte.Present p
                && p.pfn() == pfn
                && p.writable()
                && p.accessible()
                && !p.huge()) {
              pt.set(addr, new Pte.DeviceExclusive(pfn, owner, true, p.dirty()));
              done[0] = true;
            }
          });
      if (done[0]) {
        return pfn;
      }
      memory.put(pfn);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // VMA tree (mmap lock held)

  /** The VMA containing {@code va}, or null. */
  @Nullable Vma findVma(long va) {
    Map.Entry<Long, Vma> e = vmas.floorEntry(va);
    return e != null && e.getValue().contains(va) ? e.getValue() : null;
  }

  /** The VMAs intersecting {@code [start, end)}, ascending. */
  List<Vma> vmasIn(long start, long end) {
    List<Vma> out = new ArrayList<>();
    Map.Entry<Long, Vma> first = vmas.floorEntry(start);
    long from = first != null && first.getValue().end() > start ? first.getKey() : start;
    for (Vma v : vmas.subMap(from, true, end, false).values()) {
      if (v.end() > start) {
        out.add(v);
      }
    }
    return out;
  }

  void requireMmapLock(String op) {
    if (!mm.mmapLock().isHeldByCurrentThread()) {
      throw new LockRuleViolation(
          LockRule.MMAP_LOCK_NOT_HELD,
          op + " on " + mm.name() + " without " + mm.mmapLock().name() + " held");
    }
  }

  void requireMmapWriteLock(String op) {
    if (!mm.mmapLock().isWriteHeldByCurrentThread()) {
      throw new IllegalStateException(
          op + " on " + mm.name() + " without " + mm.mmapLock().name() + " held for write");
    }
  }

  static void checkPageAligned(long addr) {
    if ((addr & (PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "address 0x" + Long.toHexString(addr) + " not page-aligned");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The invalidation sequence

  /** A page-table change made under the ptl; frames to drop go to the deferred list. */
  @FunctionalInterface
  interface PteChange {
    void apply(Deferred deferred);
  }

  /** Work done after the invalidation's end: dropping references of unmapped frames. */
  static final class Deferred {
    private final List<Runnable> actions = new ArrayList<>();

    void add(Runnable r) {
      actions.add(r);
    }

    void run() {
      for (Runnable r : actions) {
        r.run();
      }
    }
  }

  /**
   * Runs the kernel sequence of a blockable invalidation around a page-table change: start, yield,
   * {@code beforeChange} (nested invalidations such as huge-page splits, as the kernel does inside
   * its walks), the change under the ptl, yield, end, then the deferred frees. A callback that
   * throws changes none of it: the core calls the others and rethrows from the end, and the
   * throwable goes to {@link CallbackFailures} once the frees are done.
   */
  void invalidate(
      MmuNotifierRange range, String op, @Nullable Runnable beforeChange, PteChange change) {
    mm.invalidateRangeStart(range);
    Deferred deferred = new Deferred();
    @Nullable Throwable failure = null;
    try {
      rt.yieldPoint(op + ": between invalidate start and PTE change");
      if (beforeChange != null) {
        beforeChange.run();
      }
      SpinLock ptl = pt.ptl();
      ptl.lock();
      try {
        change.apply(deferred);
      } finally {
        ptl.unlock();
      }
      rt.yieldPoint(op + ": between PTE change and invalidate end");
    } finally {
      failure = end(range);
    }
    deferred.run();
    machine.callbackFailures().add(failure);
  }

  /** The end of a window; what its callbacks threw is returned, not thrown. */
  private @Nullable Throwable end(MmuNotifierRange range) {
    try {
      mm.invalidateRangeEnd(range);
      return null;
    } catch (RuntimeException | Error e) {
      return e;
    }
  }

  /**
   * The non-blocking variant (OOM reaper).
   *
   * @return false if a subscriber answered {@link Errno#EAGAIN}: nothing changed and no end is due
   *     (a callback that threw in that start is handed to {@link CallbackFailures})
   */
  boolean invalidateNonblock(MmuNotifierRange range, String op, PteChange change) {
    try {
      mm.invalidateRangeStartNonblock(range);
    } catch (ErrnoException e) {
      if (e.errno() == Errno.EAGAIN) {
        return false;
      }
      throw new IllegalStateException("unexpected " + e, e);
    } catch (RuntimeException | Error e) {
      machine.callbackFailures().add(e); // refused, and a callback threw: nothing changed
      return false;
    }
    Deferred deferred = new Deferred();
    @Nullable Throwable failure = null;
    try {
      rt.yieldPoint(op + ": between invalidate start and PTE change");
      SpinLock ptl = pt.ptl();
      ptl.lock();
      try {
        change.apply(deferred);
      } finally {
        ptl.unlock();
      }
      rt.yieldPoint(op + ": between PTE change and invalidate end");
    } finally {
      failure = end(range);
    }
    deferred.run();
    machine.callbackFailures().add(failure);
    return true;
  }

  /**
   * Clears every entry of {@code [start, end)} in {@code vma} (kernel {@code zap_pte_range}); ptl
   * held. Dirty file pages are marked dirty in the page cache now; references are dropped later.
   */
  void zap(Vma vma, long start, long end, Deferred deferred) {
    for (Map.Entry<Long, Pte> e : pt.entries(start, end)) {
      long va = e.getKey();
      release(vma, va, e.getValue(), deferred);
      pt.set(va, null);
    }
  }

  /**
   * What removing {@code old} from the page table at {@code va} owes; ptl held. A hugetlb page goes
   * back to the pool after the reference of its last frame is dropped, if nothing else holds it.
   */
  void release(Vma vma, long va, Pte old, Deferred deferred) {
    if (old instanceof Pte.Present p) {
      if (p.kind() == Pte.PageKind.FILE && p.dirty() && vma.file() != null) {
        vma.file().markDirty(vma.fileIndex(va));
      }
      if (p.holdsReference()) {
        long pfn = p.pfn();
        deferred.add(() -> memory.put(pfn));
      }
      long last = (PAGE_SIZE << p.order()) - PAGE_SIZE;
      if (vma != null && vma.isHugetlb() && (va & last) == last) {
        long head = p.pfn() - (last >>> PAGE_SHIFT);
        deferred.add(() -> machine.hugetlb().releaseIfUnused(p.order(), head));
      }
    } else if (old instanceof Pte.Swap s) {
      deferred.add(() -> machine.swap().free(s.slot()));
    } else if (old instanceof Pte.DevicePrivate d) {
      deferred.add(() -> putDevicePage(d.pfn(), d.pagemap()));
    } else if (old instanceof Pte.DeviceExclusive x) {
      long pfn = x.pfn();
      deferred.add(() -> memory.put(pfn));
    }
    // A migration entry's reference belongs to its migration, which notices the entry is gone.
  }

  /**
   * Gives back the reservations of the hugetlb pages of {@code v} that were never faulted in, as
   * {@code v} is unmapped (kernel {@code hugetlb_vm_op_close}); mmap lock held for write.
   */
  void unreserveHugetlb(Vma v) {
    if (!v.isHugetlb()) {
      return;
    }
    int unfaulted = 0;
    SpinLock ptl = pt.ptl();
    ptl.lock();
    try {
      for (long a = v.start(); a < v.end(); a += v.hugetlbSize()) {
        unfaulted += pt.get(a) == null ? 1 : 0;
      }
    } finally {
      ptl.unlock();
    }
    machine.hugetlb().unreserve(v.hugetlbOrder(), unfaulted, v.anonVma());
  }

  /** Drops a reference on a device-private frame, telling its pagemap if it is the last. */
  void putDevicePage(long pfn, DevicePagemap pagemap) {
    if (memory.refcount(pfn) == 1) {
      pagemap.pageFree(pfn);
    }
    memory.put(pfn);
  }

  /**
   * Splits the huge mapping of {@code block} (a huge page, or a 2 MiB device-private page) into 512
   * base entries (kernel {@code __split_huge_pmd}), inside its own CLEAR invalidation of the 2 MiB
   * block; the huge zero page becomes 512 entries of the base zero page. No-op if the block is not
   * huge (any more).
   */
  void splitHugeBlock(long block) {
    SpinLock ptl = pt.ptl();
    ptl.lock();
    try {
      if (!pt.isHugeBlock(block) && !isDeviceHugeBlock(block)) {
        return;
      }
    } finally {
      ptl.unlock();
    }
    invalidate(
        MmuNotifierRange.of(mm, MmuNotifierEvent.CLEAR, block, block + HPAGE_SIZE),
        "thp split",
        null,
        d -> {
          if (isDeviceHugeBlock(block)) {
            for (Map.Entry<Long, Pte> e : pt.entries(block, block + HPAGE_SIZE)) {
              if (e.getValue() instanceof Pte.DevicePrivate dp) {
                pt.set(e.getKey(), dp.withHuge(false));
              }
            }
            return;
          }
          if (!pt.isHugeBlock(block)) {
            return;
          }
          for (Map.Entry<Long, Pte> e : pt.entries(block, block + HPAGE_SIZE)) {
            Pte.Present p = (Pte.Present) e.getValue();
            // The huge zero page splits into the base zero page (kernel
            // __split_huge_zero_page_pmd), never into its own frames.
            pt.set(
                e.getKey(),
                p.kind() == Pte.PageKind.ZERO
                    ? new Pte.Present(
                        PhysicalMemory.ZERO_PFN,
                        Pte.PageKind.ZERO,
                        false,
                        false,
                        false,
                        p.protnone(),
                        false,
                        false)
                    : p.withHuge(false));
          }
          pt.markSplit(block);
        });
  }

  /** True if {@code block} holds a 2 MiB device-private page. Under the ptl. */
  private boolean isDeviceHugeBlock(long block) {
    return pt.get(block) instanceof Pte.DevicePrivate d && d.huge();
  }

  /** Splits every huge block that {@code [start, end)} covers only partly. */
  void splitPartialHugeBlocks(long start, long end) {
    for (long block : hugeBlocksIn(start, end)) {
      if (block < start || block + HPAGE_SIZE > end) {
        splitHugeBlock(block);
      }
    }
  }

  /** The huge blocks intersecting {@code [start, end)}. */
  List<Long> hugeBlocksIn(long start, long end) {
    List<Long> out = new ArrayList<>();
    SpinLock ptl = pt.ptl();
    ptl.lock();
    try {
      for (long b = start & PageTable.HPAGE_MASK; b < end; b += HPAGE_SIZE) {
        if (pt.isHugeBlock(b) || isDeviceHugeBlock(b)) {
          out.add(b);
        }
      }
    } finally {
      ptl.unlock();
    }
    return out;
  }

  /** An owner tag for frames allocated for {@code va}. */
  String owner(String what, long va) {
    return mm.name() + " " + what + " 0x" + Long.toHexString(va);
  }

  @Override
  public String toString() {
    return mm.name();
  }
}
