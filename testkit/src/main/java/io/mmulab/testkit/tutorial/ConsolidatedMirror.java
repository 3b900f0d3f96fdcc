package io.mmulab.testkit.tutorial;

import static io.mmulab.api.hmm.HmmPfnLayout.MAINLINE;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.sim.mm.SimMm;

/**
 * The consolidated port: one interval subscription over the whole address space and the
 * collision-retry pattern of {@code docs/notifier.md}.
 *
 * <p>Locking: {@code update} (the update lock of the pattern) is the subscription's update lock.
 * The invalidate callback takes it (try-locks it for a non-blockable range) around {@code setSeq}
 * and the zap; {@link #populate} takes it around {@code readRetry} and the programming of the
 * entry. Nothing else is held while it is: no {@code mmap_lock}, no {@code readBegin}.
 */
final class ConsolidatedMirror extends TutorialMirror {
  private static final String SUB = "all";

  private final Mutex update;
  private final MmuIntervalNotifier sub;

  ConsolidatedMirror(UserProcess process, Machine machine) throws ErrnoException {
    super(DriverVariant.CONSOLIDATED, process, machine);
    update = machine.runtime().newMutex(id + ".update");
    sub = mm.insertIntervalNotifier(0, SimMm.TASK_SIZE, this::invalidate, update);
    checker.subscriptionInserted(id, SUB, mm.name(), 0, SimMm.TASK_SIZE);
  }

  /** The invalidate callback: publish the new sequence, zap and flush, under L. */
  private boolean invalidate(MmuIntervalNotifier s, MmuNotifierRange range, long curSeq) {
    stats.invalidation();
    checker.invalidateCallbackEntered(id, SUB, mm.name(), range.start(), range.end());
    if (range.blockable()) {
      update.lock();
    } else if (!update.tryLock()) {
      stats.refused();
      return false; // the OOM reaper retries later
    }
    try {
      s.setSeq(curSeq);
      mmu.unmapRange(range.start(), range.end());
      mmu.flushTlb(range.start(), range.end());
    } finally {
      update.unlock();
    }
    checker.invalidateCallbackReturned(id, SUB, mm.name(), range.start(), range.end(), curSeq);
    return true;
  }

  /** The fault side for one page. */
  @Override
  void populate(long va, boolean write) throws ErrnoException {
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, id + ": the process is gone");
    }
    try {
      long[] pfns = new long[1];
      long flags = REQ_FAULT | (write ? REQ_WRITE : 0);
      HmmRange range = new HmmRange(sub, 0, va, va + PAGE_SIZE, pfns, flags, 0, null, MAINLINE);
      while (true) {
        range.setNotifierSeq(sub.readBegin());
        pfns[0] = 0;
        mm.mmapLock().downRead();
        try {
          mm.hmmRangeFault(range);
        } catch (ErrnoException e) {
          if (e.errno() == Errno.EBUSY) {
            stats.retry();
            continue; // an invalidation collided with the walk: start again
          }
          throw e;
        } finally {
          mm.mmapLock().upRead();
        }
        update.lock();
        try {
          if (sub.readRetry(range.notifierSeq())) {
            stats.retry();
            continue; // an invalidation ran since readBegin: the pfns may be stale
          }
          mmu.map(va, MAINLINE.pfn(pfns[0]), (pfns[0] & WRITE) != 0);
          stats.fault();
          return;
        } finally {
          update.unlock();
        }
      }
    } finally {
      mm.mmput();
    }
  }

  @Override
  void unsubscribe() {
    sub.remove();
    checker.subscriptionRemoved(id, SUB);
  }
}
