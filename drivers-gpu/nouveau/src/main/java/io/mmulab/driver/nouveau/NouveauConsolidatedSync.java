package io.mmulab.driver.nouveau;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Mutex;

/**
 * nouveau SVM after the 5.5 series (MIGRATION.md, "Consolidated pattern"; upstream c625c274ee00 and
 * 20fef4ef84bf).
 *
 * <ol>
 *   <li>A <b>whole-mm classic notifier</b> ({@link SvmmNotifier}, kernel {@code nouveau_mn_ops}):
 *       its {@code invalidate_range_start} refuses a non-blockable range ({@code -EAGAIN}), else
 *       takes {@code svmm->mutex}, skips the hardware if fini already cleared {@code svmm->vmm},
 *       clears the GPU PTEs of the range and flushes.
 *   <li>A <b>temporary interval notifier per fault window</b> ({@link #faultNotifierOps}, kernel
 *       {@code nouveau_svm_range_invalidate}): inserted over the window before the lookup, removed
 *       after; its callback only takes the mutex (trylock when non-blockable, else false), calls
 *       {@code setSeq} and unlocks.
 *   <li>The fault loop: {@code readBegin}; {@code hmmRangeFault} under {@code mmap_lock} read
 *       (EBUSY: again); lock the mutex; {@code readRetry} true: unlock and again; else write GPU
 *       PTEs and unlock.
 * </ol>
 *
 * <p><b>Update lock: {@code svmm->mutex}.</b> It is held while GPU PTEs are written and by both
 * callbacks. The per-fault seq bump happens under it and <em>before</em> the classic notifier
 * clears PTEs, because the core calls interval subscriptions before classic notifiers in the same
 * start. So either the fault thread validated first (then the classic callback, waiting for the
 * mutex, clears what it wrote), or the bump came first (then {@code readRetry} is true). If the
 * classic callback ran first, a fault could validate between the clear and the bump and write a PTE
 * nothing clears: the design depends on the ordering (see {@code NouveauOrderingTest}).
 */
final class NouveauConsolidatedSync extends NouveauSync {
  /** The classic notifier's name in checker events. */
  static final String SUBSCRIPTION = "svmm_notifier";

  private final NouveauSvmmCore svmm;
  private final SvmmNotifier notifier = new SvmmNotifier();

  NouveauConsolidatedSync(NouveauSvmmCore svmm) {
    this.svmm = svmm;
  }

  @Override
  void open() throws ErrnoException {
    svmm.mm().registerNotifier(notifier); // __mmu_notifier_register
    svmm.subscribed(SUBSCRIPTION);
  }

  @Override
  void close() {
    // nouveau_svmm_fini: svmm->vmm = NULL under the mutex, then mmu_notifier_put. The kernel frees
    // the svmm later (SRCU); a callback that runs in between finds vmm NULL and touches no
    // hardware (NouveauSvmm.clearGpuPtes).
    svmm.fini();
    svmm.mm().unregisterNotifier(notifier);
    svmm.unsubscribed(SUBSCRIPTION);
  }

  /** The whole-mm classic notifier: clears GPU PTEs. */
  private final class SvmmNotifier implements MmuNotifier {
    @Override
    public boolean invalidateRangeStart(MmuNotifierRange range) {
      // -EAGAIN for every non-blockable range, as the kernel: the OOM reaper gives up.
      svmm.logCallback("classic");
      return svmm.clearGpuPtes(SUBSCRIPTION, range, () -> {});
    }

    /**
     * Not in the kernel's ops (the client's file is closed before its mm goes); the sim keeps the
     * GPU running across {@code exit}, whose UNMAP no longer reaches classic notifiers, so the
     * whole VM is cleared here.
     */
    @Override
    public void release(AddressSpace mm) {
      svmm.clearGpuPtes(SUBSCRIPTION, MmuNotifierRange.release(mm), () -> {});
    }
  }

  /** The per-fault notifier's callback: only publishes the sequence, under the update lock. */
  private MmuIntervalNotifierOps faultNotifierOps() {
    Mutex mutex = svmm.mutex();
    return (sub, range, curSeq) -> {
      svmm.stats().invalidation();
      if (range.blockable()) {
        mutex.lock();
      } else if (!mutex.tryLock()) {
        svmm.stats().refused();
        return false;
      }
      try {
        svmm.logCallback("interval");
        sub.setSeq(curSeq);
      } finally {
        mutex.unlock();
      }
      return true;
    };
  }

  @Override
  void resolve(long start, long end, boolean write) throws ErrnoException {
    MmuIntervalNotifier sub =
        svmm.mm().insertIntervalNotifier(start, end - start, faultNotifierOps(), svmm.mutex());
    try {
      Clock clock = svmm.runtime().clock();
      long deadline = clock.nanoTime() + TIMEOUT_NANOS;
      Mutex mutex = svmm.mutex();
      while (true) {
        if (clock.nanoTime() - deadline > 0) {
          throw new ErrnoException(
              Errno.EBUSY,
              svmm.id()
                  + ": fault window [0x"
                  + Long.toHexString(start)
                  + ", 0x"
                  + Long.toHexString(end)
                  + ") kept colliding for 1000 ms");
        }
        long seq = sub.readBegin();
        HmmRange hmm = NouveauSvmmCore.hmmRange(sub, seq, start, end, write);
        svmm.mm().mmapLock().downRead();
        try {
          svmm.mm().hmmRangeFault(hmm);
        } catch (ErrnoException e) {
          if (e.errno() == Errno.EBUSY) {
            svmm.stats().retry();
            continue;
          }
          throw e; // EFAULT: the fault is cancelled
        } finally {
          svmm.mm().mmapLock().upRead();
        }
        svmm.afterLookup();
        mutex.lock();
        try {
          if (sub.readRetry(seq)) {
            svmm.stats().retry();
            continue; // an invalidation collided with the lookup
          }
          svmm.writeGpuPtes(hmm);
          return;
        } finally {
          mutex.unlock();
        }
      }
    } finally {
      sub.remove();
    }
  }
}
