package io.mmulab.bench;

import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.MmStruct;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DeviceMmu;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;

/**
 * The fixture of benchmark 4: one process with an anonymous private read-write mapping of {@code
 * pages} pages (all populated by CPU stores), one device translation context ({@link DeviceMmu})
 * mirroring it, and one interval subscription over the mapping whose update lock is the driver's
 * mutex. All locks come from {@link RealSyncRuntime}.
 *
 * <p>The callback is the consolidated driver's: report entry to the checker, update lock, {@code
 * setSeq}, zap the device entries of the range ({@link DeviceMmu#unmapRange}) and flush the device
 * TLB ({@link DeviceMmu#flushTlb}), unlock, report return to the checker.
 *
 * <p>{@link #fault(int)} is one device page fault handled the consolidated way (docs/notifier.md,
 * "Fault side" for one page): {@code readBegin}; mmap lock for read; {@code hmmRangeFault} with
 * {@code REQ_FAULT} for the page; unlock; update lock; {@code readRetry}; program the device entry
 * with the pfn and write bit found; unlock. An {@code EBUSY} walk or a collision seen by {@code
 * readRetry} starts over with a fresh {@code readBegin}; both are counted as retries.
 *
 * <p>{@link #toggleProtection()} is the invalidation stream of the contended benchmark: one {@code
 * mprotect} of the whole mapping, alternately to read-only and back to read-write, each a
 * PROTECTION_VMA invalidation of every page (under the mmap lock for write, as the kernel's).
 *
 * <p>Faults may come from one thread at a time and invalidations from one other thread at a time
 * ({@link #busyWalks()} and the protection state are plain fields).
 *
 * <p>Memory stays bounded however long it runs: the device page table and TLB hold at most one
 * entry per page, the checker keeps a trace of its last {@value
 * CoherencyChecker#DEFAULT_TRACE_LENGTH} events and one live plus one retired translation per
 * (page, frame) pair, and mprotect of the whole mapping never splits its VMA.
 */
public final class FaultPath implements AutoCloseable {
  /** Pages of the mapping used by the benchmark. */
  public static final int DEFAULT_PAGES = 16;

  private static final long PAGE = AddressSpace.PAGE_SIZE;
  private static final String DEVICE = "bench.gpu0";
  private static final int RW = Mman.PROT_READ | Mman.PROT_WRITE;

  private final CoherencyChecker checker;
  private final SimProcess process;
  private final MmStruct mm;
  private final RwSemaphore mmapLock;
  private final long base;
  private final int pages;
  private final DeviceMmu mmu;
  private final Mutex update;
  private final MmuIntervalNotifier sub;

  private boolean readOnly; // the invalidating thread's
  private long busyWalks; // the faulting thread's

  /**
   * Builds the fixture on the real runtime.
   *
   * @param pages pages of the mapping, at least 1
   * @throws ErrnoException if the simulated machine refuses (it does not with these sizes)
   */
  public FaultPath(int pages) throws ErrnoException {
    if (pages < 1) {
      throw new IllegalArgumentException("pages " + pages);
    }
    SyncRuntime rt = RealSyncRuntime.get();
    this.pages = pages;
    this.checker = new CoherencyChecker();
    SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, pages + 64, checker));
    this.process = machine.spawnProcess("bench");
    this.mm = process.mm();
    this.mmapLock = mm.mmapLock();
    this.base = process.mmap(0, pages * PAGE, RW, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    for (int i = 0; i < pages; i++) {
      process.store(va(i), 100 + i);
    }
    String mmName = mm.name();
    this.mmu = DeviceMmu.builder(rt, machine.memory(), DEVICE, mmName).build();
    this.update = rt.newMutex(DEVICE + ".update");
    DeviceMmu device = mmu;
    Mutex lock = update;
    this.sub =
        mm.insertIntervalNotifier(
            base,
            pages * PAGE,
            (s, range, curSeq) -> {
              checker.invalidateCallbackEntered(DEVICE, null, mmName, range.start(), range.end());
              lock.lock();
              try {
                s.setSeq(curSeq);
                device.unmapRange(range.start(), range.end());
                device.flushTlb(range.start(), range.end());
              } finally {
                lock.unlock();
              }
              checker.invalidateCallbackReturned(
                  DEVICE, mmName, range.start(), range.end(), curSeq);
              return true;
            },
            update);
  }

  /**
   * Returns the number of pages of the mapping.
   *
   * @return the page count
   */
  public int pages() {
    return pages;
  }

  /**
   * Returns the address of a page of the mapping.
   *
   * @param page the page index, {@code 0 <= page < pages()}
   * @return its address
   */
  public long va(int page) {
    return base + page * PAGE;
  }

  /**
   * Handles one device page fault on {@code page}: see the class comment.
   *
   * @param page the page index, {@code 0 <= page < pages()}
   * @return how many times the fault started over ({@code EBUSY} walks plus {@code readRetry}
   *     collisions); 0 without concurrent invalidations
   * @throws ErrnoException any error of {@code hmmRangeFault} other than {@code EBUSY} (none
   *     happens here: the mapping is never unmapped and never {@code PROT_NONE})
   */
  public int fault(int page) throws ErrnoException {
    long va = va(page);
    HmmRange range =
        new HmmRange(sub, 0, va, va + PAGE, new long[1], REQ_FAULT, 0, null, HmmPfnLayout.MAINLINE);
    long[] pfns = range.hmmPfns();
    int retries = 0;
    while (true) {
      range.setNotifierSeq(sub.readBegin());
      pfns[0] = 0;
      mmapLock.downRead();
      try {
        mm.hmmRangeFault(range);
      } catch (ErrnoException e) {
        if (e.errno() != Errno.EBUSY) {
          throw e;
        }
        busyWalks++;
        retries++;
        continue;
      } finally {
        mmapLock.upRead();
      }
      update.lock();
      try {
        if (sub.readRetry(range.notifierSeq())) {
          retries++;
          continue;
        }
        long entry = pfns[0];
        mmu.map(va, range.layout().pfn(entry), (entry & WRITE) != 0);
        return retries;
      } finally {
        update.unlock();
      }
    }
  }

  /**
   * One invalidation of the stream: {@code mprotect} of the whole mapping to read-only, or back to
   * read-write, alternately.
   *
   * @throws ErrnoException never (the mapping exists and the arguments are valid)
   */
  public void toggleProtection() throws ErrnoException {
    readOnly = !readOnly;
    process.mprotect(base, pages * PAGE, readOnly ? Mman.PROT_READ : RW);
  }

  /**
   * Returns how many walks of {@link #fault} ended in {@code EBUSY} (each also counted as a retry).
   *
   * @return the count since creation
   */
  public long busyWalks() {
    return busyWalks;
  }

  /**
   * Returns the frame the CPU page table maps at a page.
   *
   * @param page the page index
   * @return the pfn, or -1 if not present
   */
  public long cpuPfn(int page) {
    return process.pte(va(page)).pfn();
  }

  /**
   * Returns whether the CPU page table lets the CPU write the page without a fault.
   *
   * @param page the page index
   * @return the write bit of the CPU entry
   */
  public boolean cpuWritable(int page) {
    return process.pte(va(page)).writable();
  }

  /**
   * Returns the CPU's view of the first word of a page (a CPU load, faulting as needed).
   *
   * @param page the page index
   * @return the value
   * @throws ErrnoException never for this mapping
   */
  public long cpuLoad(int page) throws ErrnoException {
    return process.load(va(page));
  }

  /**
   * Returns the device page table.
   *
   * @return the device context
   */
  public DeviceMmu device() {
    return mmu;
  }

  /**
   * Returns the coherency checker of the machine.
   *
   * @return the checker
   */
  public CoherencyChecker checker() {
    return checker;
  }

  /** Removes the subscription, tears the device context down and ends the process. */
  @Override
  public void close() {
    sub.remove();
    mmu.tearDown();
    process.exit();
  }
}
