package io.mmulab.driver.nouveau;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayList;
import java.util.List;

/**
 * nouveau SVM on the v5.4 {@code hmm_mirror} (drivers.md §9 "Legacy"), kept with its race.
 *
 * <p>The "hmm core" half: one classic notifier per mirror counting open invalidations ({@code
 * notifiers}) and holding the registered fault ranges. Its start clears {@code valid} of every
 * overlapping range, then calls the mirror's {@code sync_cpu_device_pagetables} ({@code
 * nouveau_svmm_sync_cpu_device_pagetables}: -EAGAIN when non-blockable, else mutex, clear GPU PTEs,
 * unlock); its end, when the count drops to zero, sets every range valid again.
 *
 * <p>The driver half ({@link #resolve}): with {@code mmap_sem} held for read over the whole window
 * handling, register an {@code hmm_range}, wait until valid, {@code hmm_range_fault}, lock {@code
 * svmm->mutex}, check the flag ({@code nouveau_range_done}), write GPU PTEs, unlock, drop {@code
 * mmap_sem}. Holding {@code mmap_sem} keeps munmap/mprotect/fork out; invalidations that run under
 * {@code mmap_sem} read (migration, {@code MADV_DONTNEED}, reclaim) still get through, and that is
 * where the flag's blind spot shows (see {@code LEGACY RACE}).
 *
 * <p>Locking: {@code rangesLock} (a spin lock, kernel {@code hmm->ranges_lock}) guards {@code
 * notifiers} and the range list; {@code valid} is read without it (volatile), as {@code
 * hmm_range_valid} did.
 */
final class NouveauLegacyMirror extends NouveauSync implements MmuNotifier {
  /** The subscription's name in checker events. */
  static final String SUBSCRIPTION = "hmm_mirror";

  private final NouveauSvmmCore svmm;
  private final SpinLock rangesLock;
  private final WaitQueue wq;
  private final List<Range> ranges = new ArrayList<>();
  private int notifiers; // guarded by rangesLock

  NouveauLegacyMirror(NouveauSvmmCore svmm) {
    this.svmm = svmm;
    this.rangesLock = svmm.runtime().newSpinLock(svmm.id() + ".hmm.ranges_lock");
    this.wq = svmm.runtime().newWaitQueue(svmm.id() + ".hmm.wq");
  }

  @Override
  void open() throws ErrnoException {
    // hmm_mirror_register, under mmap_sem write in the kernel; the sim's register takes what it
    // needs itself.
    svmm.mm().registerNotifier(this);
    svmm.subscribed(SUBSCRIPTION);
  }

  @Override
  void close() {
    // Teardown (v5.4): hmm_mirror_unregister, then the svmm is freed at once.
    svmm.mm().unregisterNotifier(this);
    svmm.unsubscribed(SUBSCRIPTION);
  }

  // ---------------------------------------------------------------------------------------------
  // The hmm core's classic notifier

  @Override
  public boolean invalidateRangeStart(MmuNotifierRange range) {
    rangesLock.lock();
    try {
      notifiers++;
      for (Range r : ranges) {
        if (range.intersects(r.start, r.end - 1)) {
          r.valid = false;
        }
      }
    } finally {
      rangesLock.unlock();
    }
    // nouveau_svmm_sync_cpu_device_pagetables: -EAGAIN for every non-blockable range, so the OOM
    // reaper never reaps a process with an SVM client.
    svmm.logCallback("classic");
    if (!svmm.clearGpuPtes(SUBSCRIPTION, range, () -> {})) {
      notifiersDecrement(); // no end follows a refused start
      return false;
    }
    return true;
  }

  @Override
  public void invalidateRangeEnd(MmuNotifierRange range) {
    notifiersDecrement();
  }

  @Override
  public void release(AddressSpace mm) {
    svmm.clearGpuPtes(SUBSCRIPTION, MmuNotifierRange.release(mm), () -> {});
  }

  private void notifiersDecrement() {
    rangesLock.lock();
    try {
      notifiers--;
      if (notifiers == 0) {
        for (Range r : ranges) {
          r.valid = true;
        }
      }
    } finally {
      rangesLock.unlock();
    }
    wq.wakeUpAll();
  }

  private Range register(long start, long end) {
    Range r = new Range(start, end);
    rangesLock.lock();
    try {
      r.valid = notifiers == 0;
      ranges.add(r);
    } finally {
      rangesLock.unlock();
    }
    return r;
  }

  private void unregister(Range r) {
    rangesLock.lock();
    try {
      ranges.remove(r);
    } finally {
      rangesLock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The driver's fault path (nouveau_svm_fault + nouveau_range_fault, v5.4)

  @Override
  void resolve(long start, long end, boolean write) throws ErrnoException {
    Clock clock = svmm.runtime().clock();
    long deadline = clock.nanoTime() + TIMEOUT_NANOS;
    Mutex mutex = svmm.mutex();
    while (true) {
      Range range = register(start, end);
      try {
        long left = deadline - clock.nanoTime();
        if (left < 0 || !wq.waitEventTimeout(() -> range.valid, left)) {
          throw new ErrnoException(
              Errno.EBUSY,
              svmm.id()
                  + ": range [0x"
                  + Long.toHexString(start)
                  + ", 0x"
                  + Long.toHexString(end)
                  + ") did not become valid within 1000 ms");
        }
        svmm.mm().mmapLock().downRead(); // held across the whole window, programming included
        try {
          HmmRange hmm = NouveauSvmmCore.hmmRange(range, 0, start, end, write);
          try {
            svmm.mm().hmmRangeFault(hmm);
          } catch (ErrnoException e) {
            if (e.errno() == Errno.EBUSY) {
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
            if (!range.valid) {
              continue;
            }
            svmm.writeGpuPtes(hmm);
            return;
          } finally {
            mutex.unlock();
          }
        } finally {
          svmm.mm().mmapLock().upRead();
        }
      } finally {
        unregister(range);
      }
    }
  }

  /**
   * One registered fault range (kernel {@code struct hmm_range} of the {@code hmm_mirror} era). It
   * stands in for the subscription an {@code HmmRange} names: the walk fails with {@code EBUSY}
   * while the range is invalid, as v5.4 {@code hmm_range_fault} did.
   */
  private final class Range implements MmuIntervalNotifier {
    private final long start;
    private final long end;
    private volatile boolean valid;

    Range(long start, long end) {
      this.start = start;
      this.end = end;
    }

    @Override
    public AddressSpace addressSpace() {
      return svmm.mm();
    }

    @Override
    public long start() {
      return start;
    }

    @Override
    public long last() {
      return end - 1;
    }

    @Override
    public long readBegin() {
      return 0;
    }

    @Override
    public boolean readRetry(long seq) {
      return !valid;
    }

    @Override
    public boolean checkRetry(long seq) {
      return !valid;
    }

    @Override
    public void setSeq(long curSeq) {
      throw new UnsupportedOperationException("a legacy hmm range has no sequence");
    }

    @Override
    public void remove() {
      unregister(this);
    }

    @Override
    public String toString() {
      return svmm.id()
          + " hmm range [0x"
          + Long.toHexString(start)
          + ", 0x"
          + Long.toHexString(end)
          + ")"
          + (valid ? "" : " invalid");
    }
  }
}
