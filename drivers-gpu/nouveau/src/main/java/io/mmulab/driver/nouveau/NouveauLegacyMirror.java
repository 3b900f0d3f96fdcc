package io.mmulab.driver.nouveau;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.sim.hmm.HmmMirror;

/**
 * nouveau SVM on the v5.4 {@code hmm_mirror} (MIGRATION.md, "Legacy pattern"), kept with its race.
 *
 * <p>The hmm core is the sim's {@link HmmMirror}: one classic notifier per mirror that clears the
 * {@code valid} flag of every overlapping registered range at start and sets them all valid again
 * when the last open invalidation ends. Its {@code sync_cpu_device_pagetables} is {@code
 * nouveau_svmm_sync_cpu_device_pagetables}: {@code -EAGAIN} when non-blockable, else mutex, clear
 * GPU PTEs, unlock.
 *
 * <p>The driver half ({@link #resolve}): with {@code mmap_sem} held for read over the whole window
 * handling, register an {@code hmm_range}, wait until valid, {@code hmm_range_fault}, lock {@code
 * svmm->mutex}, check the flag ({@code nouveau_range_done}), write GPU PTEs, unlock, drop {@code
 * mmap_sem}. Holding {@code mmap_sem} keeps munmap/mprotect/fork out; invalidations that run under
 * {@code mmap_sem} read (migration, {@code MADV_DONTNEED}, reclaim) still get through, and that is
 * where the flag's blind spot shows (see {@code LEGACY RACE}).
 */
final class NouveauLegacyMirror extends NouveauSync {
  /** The subscription's name in checker events. */
  static final String SUBSCRIPTION = "hmm_mirror";

  private final NouveauSvmmCore svmm;
  private final HmmMirror hmm;

  NouveauLegacyMirror(NouveauSvmmCore svmm) {
    this.svmm = svmm;
    this.hmm =
        new HmmMirror(
            svmm.runtime(),
            svmm.mm(),
            svmm.id(),
            new HmmMirror.Ops() {
              // nouveau_svmm_sync_cpu_device_pagetables: -EAGAIN for every non-blockable range,
              // so the OOM reaper never reaps a process with an SVM client.
              @Override
              public boolean syncCpuDevicePagetables(MmuNotifierRange range) {
                svmm.logCallback("classic");
                return svmm.clearGpuPtes(SUBSCRIPTION, range, () -> {});
              }

              @Override
              public void release(AddressSpace mm) {
                svmm.clearGpuPtes(SUBSCRIPTION, MmuNotifierRange.release(mm), () -> {});
              }
            });
  }

  @Override
  void open() throws ErrnoException {
    // hmm_mirror_register, under mmap_sem write in the kernel; the sim's register takes what it
    // needs itself.
    hmm.register();
    svmm.subscribed(SUBSCRIPTION);
  }

  @Override
  void close() {
    // Teardown (v5.4): hmm_mirror_unregister, then the svmm is freed at once.
    hmm.unregister();
    svmm.unsubscribed(SUBSCRIPTION);
  }

  // ---------------------------------------------------------------------------------------------
  // The driver's fault path (nouveau_svm_fault + nouveau_range_fault, v5.4)

  @Override
  void resolve(long start, long end, boolean write) throws ErrnoException {
    long deadline = svmm.runtime().clock().nanoTime() + TIMEOUT_NANOS;
    Mutex mutex = svmm.mutex();
    while (true) {
      HmmMirror.Range range = hmm.registerRange(start, end);
      try {
        hmm.waitUntilValid(range, deadline);
        svmm.mm().mmapLock().downRead(); // held across the whole window, programming included
        try {
          HmmRange fault = NouveauSvmmCore.hmmRange(range, 0, start, end, write);
          try {
            svmm.mm().hmmRangeFault(fault);
          } catch (ErrnoException e) {
            if (e.errno() == Errno.EBUSY) {
              svmm.stats().retry();
              continue; // the range went invalid during the walk: start over
            }
            throw e; // EFAULT: the fault is cancelled
          }
          svmm.afterLookup();
          mutex.lock();
          try {
            // LEGACY RACE: the valid flag says only that no invalidation is open at this instant,
            // not that none ran since the lookup. mmap_sem (read) keeps munmap out, but not
            // invalidations that themselves run under mmap_sem read. Timeline:
            //   GPU fault: hmm_range_fault returns frame P for va (range valid);
            //   CPU:       migrate(va) (mmap_sem read): start clears range.valid, the sync callback
            //              takes svmm->mutex and clears nothing (va has no GPU PTE yet), the PTE
            //              moves to a new frame, end sees notifiers == 0 and sets range.valid =
            //              true again, P is freed;
            //   GPU fault: takes svmm->mutex, nouveau_range_done finds the range valid, writes the
            //              GPU PTE va -> P and replays: the GPU reads and writes a freed frame that
            //              no later invalidation will clear (STALE_USE, USE_AFTER_FREE).
            // The consolidated port compares sequence numbers (readRetry), which remember that a
            // window opened after the lookup began.
            if (!range.valid()) {
              svmm.stats().retry();
              continue;
            }
            svmm.writeGpuPtes(fault);
            return;
          } finally {
            mutex.unlock();
          }
        } finally {
          svmm.mm().mmapLock().upRead();
        }
      } finally {
        range.remove();
      }
    }
  }
}
