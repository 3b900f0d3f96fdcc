package io.mmulab.sim.gpu;

import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;

/** A machine, a process and helpers playing the driver around a {@link SimGpu}. */
final class GpuRig {
  static final long PAGE = PhysicalMemory.PAGE_SIZE;

  /** What a test driver does inside its invalidate callback (between the checker reports). */
  interface Zap {
    void run(MmuIntervalNotifier sub, MmuNotifierRange range, long curSeq);
  }

  final SyncRuntime rt;
  final CoherencyChecker checker = new CoherencyChecker();
  final SimMachine machine;
  final SimProcess proc;

  /** Must be built on a thread allowed to use {@code rt}. */
  GpuRig(SyncRuntime rt) {
    this.rt = rt;
    this.machine = new SimMachine(rt, new PhysicalMemory(rt, 256, checker));
    this.proc = machine.spawnProcess("app");
  }

  /** Maps {@code pages} anonymous read-write pages holding 100, 101, … at their first word. */
  long populated(int pages) throws ErrnoException {
    long base =
        proc.mmap(
            0,
            pages * PAGE,
            Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    for (int i = 0; i < pages; i++) {
      proc.store(base + i * PAGE, 100 + i);
    }
    return base;
  }

  /** Pins the BO's pages for write under the mmap lock. */
  void pin(GpuBo bo) throws ErrnoException {
    proc.mm().mmapLock().downRead();
    try {
      bo.pinUserPages(proc, true);
    } finally {
      proc.mm().mmapLock().upRead();
    }
  }

  /** A subscription whose callback runs {@code zap}, reported to the checker as {@code vm}'s. */
  MmuIntervalNotifier subscribe(GpuVm vm, long start, long length, Mutex updateLock, Zap zap)
      throws ErrnoException {
    return proc.mm()
        .insertIntervalNotifier(
            start,
            length,
            (sub, range, curSeq) -> {
              checker.invalidateCallbackEntered(
                  vm.deviceId(), null, vm.mm(), range.start(), range.end());
              zap.run(sub, range, curSeq);
              checker.invalidateCallbackReturned(
                  vm.deviceId(), vm.mm(), range.start(), range.end(), curSeq);
              return true;
            },
            updateLock);
  }

  /** The correct shadow-PTE callback: under the update lock, set the seq, unbind and flush. */
  static Zap unbindAndFlush(GpuVm vm, Mutex updateLock) {
    return (sub, range, curSeq) -> {
      updateLock.lock();
      try {
        sub.setSeq(curSeq);
        vm.unbindRange(range.start(), range.end());
      } finally {
        updateLock.unlock();
      }
    };
  }

  /**
   * A replayable-fault handler resolving the faulting page by collision-retry (docs/notifier.md,
   * "Fault side"): {@code hmmRangeFault} → update lock → {@code readRetry} → bind.
   */
  void resolveByHmm(GpuVm vm, MmuIntervalNotifier sub, Mutex updateLock, long va, boolean write)
      throws ErrnoException {
    long page = va & ~(PAGE - 1);
    while (true) {
      HmmRange range =
          new HmmRange(
              sub,
              sub.readBegin(),
              page,
              page + PAGE,
              new long[1],
              REQ_FAULT | (write ? REQ_WRITE : 0),
              0,
              null,
              HmmPfnLayout.MAINLINE);
      proc.mm().mmapLock().downRead();
      try {
        proc.mm().hmmRangeFault(range);
      } catch (ErrnoException e) {
        if (e.errno() == Errno.EBUSY) {
          continue;
        }
        throw e;
      } finally {
        proc.mm().mmapLock().upRead();
      }
      updateLock.lock();
      try {
        if (sub.readRetry(range.notifierSeq())) {
          continue;
        }
        long entry = range.hmmPfns()[0];
        vm.bind(page, range.layout().pfn(entry), (entry & WRITE) != 0);
        return;
      } finally {
        updateLock.unlock();
      }
    }
  }
}
