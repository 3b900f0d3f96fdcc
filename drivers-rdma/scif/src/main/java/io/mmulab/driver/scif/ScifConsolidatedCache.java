package io.mmulab.driver.scif;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import java.util.List;
import java.util.Objects;

/**
 * The SCIF window cache on interval notifiers. <b>Hypothetical:</b> the kernel removed SCIF (the
 * whole MIC stack, 5.10) without ever converting it (the 5.5 series left it out for its
 * "complicated logic flow"); this is our design of what the conversion would have been.
 *
 * <p>One interval notifier per cached window, over exactly its range, with {@code tc_lock} as its
 * update lock. On a miss: insert the window's notifier, {@code readBegin}, pin, then under {@code
 * tc_lock} {@code readRetry}: a collision unpins the pages and goes round again with the same
 * notifier; otherwise the window is DMA-mapped, the windows it overlaps leave the list for the
 * worker, the window is linked and the copy begins on it, all under that lock. The callback takes
 * {@code tc_lock} (a spin lock: it never sleeps, so non-blockable ranges are served too), {@code
 * setSeq}s, and if the window is linked unlinks it and queues it for the cleanup worker; the worker
 * removes the notifier after it destroyed the window, never the callback.
 */
final class ScifConsolidatedCache extends ScifRmaCache {
  /** How many collisions a miss accepts before it gives up with {@code EBUSY}. */
  static final int MAX_ROUNDS = 16;

  private int serial; // guarded by rmaLock: only the copy path names windows

  ScifConsolidatedCache(SyncRuntime rt, AddressSpace mm, String id, ScifRma hw, DriverStats stats) {
    super(rt, mm, id, hw, stats);
  }

  @Override
  Use register(long start, long end, boolean write) throws ErrnoException {
    ScifWindow w =
        new ScifWindow(start, end, write, "tcw@0x" + Long.toHexString(start) + "#" + ++serial);
    MmuIntervalNotifier n =
        mm.insertIntervalNotifier(
            start, end - start, (sub, range, seq) -> invalidate(w, sub, range, seq), tcLock);
    w.notifier = n;
    hw.subscribed(w.subscription, start, end);
    try {
      for (int round = 1; round <= MAX_ROUNDS; round++) {
        long seq = n.readBegin();
        long[] pfns = hw.pin(start, pages(start, end), write);
        rt.yieldPoint(id + ": " + PINNED + " and read_retry");
        List<ScifWindow> superseded = null;
        tcLock.lock();
        try {
          if (!n.readRetry(seq)) {
            // Mapped only now, so the card never holds a window an invalidation already passed;
            // overlapping windows leave the list, so a page is in one linked window at most.
            w.pfns = pfns;
            hw.map(w);
            superseded = list.removeOverlapping(start, end);
            queueAllForCleanup(superseded);
            return publishLocked(w);
          }
        } finally {
          tcLock.unlock();
          if (superseded != null && !superseded.isEmpty()) {
            hw.scheduleCleanup();
          }
        }
        stats.retry(); // invalidated since readBegin: the pages may be stale
        hw.unpin(pfns);
      }
    } catch (ErrnoException | RuntimeException e) {
      removeNotifier(w);
      throw e;
    }
    removeNotifier(w);
    throw new ErrnoException(
        Errno.EBUSY,
        id + ": no stable window for 0x" + Long.toHexString(start) + " after " + MAX_ROUNDS);
  }

  /** The invalidate callback of {@code w}'s notifier. */
  private boolean invalidate(
      ScifWindow w, MmuIntervalNotifier n, MmuNotifierRange range, long curSeq) {
    stats.invalidation();
    hw.callbackEntered(w.subscription, range.start(), range.end());
    boolean queued;
    tcLock.lock();
    try {
      n.setSeq(curSeq);
      queued = list.remove(w);
      if (queued) {
        queueForCleanup(w);
      }
    } finally {
      tcLock.unlock();
    }
    if (queued) {
      hw.scheduleCleanup();
    }
    hw.callbackReturned(w.subscription, range.start(), range.end(), curSeq);
    return true;
  }

  @Override
  void destroyed(ScifWindow w) {
    removeNotifier(w);
  }

  private void removeNotifier(ScifWindow w) {
    Objects.requireNonNull(w.notifier, "a cached window has its notifier")
        .remove(); // waits for a running callback: never from one, never under tc_lock
    hw.unsubscribed(w.subscription);
  }

  @Override
  public String toString() {
    return id + " (consolidated window cache)";
  }
}
