package io.mmulab.driver.scif;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import java.util.List;

/**
 * The SCIF window cache as the kernel had it until SCIF was removed (5.10): one classic {@link
 * MmuNotifier} per endpoint and address space ({@code struct scif_mmu_notif}), registered lazily by
 * the first cached copy under {@code mmn_lock}; its {@code invalidate_range_start} unlinks every
 * window overlapping the range from the sorted list under {@code tc_lock} and queues it for the
 * cleanup worker; {@code invalidate_range_end} does nothing; {@code release} queues them all.
 *
 * <p>The copy path drops {@code tc_lock} to pin on a miss and takes it again to insert the new
 * window: nothing tells it whether an invalidation ran in between (see {@link #register}).
 */
final class ScifLegacyCache extends ScifRmaCache implements MmuNotifier {
  /** The checker's name of the classic notifier. */
  static final String MMN = "mmn";

  private final Mutex mmnLock;
  private boolean registered; // guarded by mmnLock

  ScifLegacyCache(SyncRuntime rt, AddressSpace mm, String id, ScifRma hw, DriverStats stats) {
    super(rt, mm, id, hw, stats);
    this.mmnLock = rt.newMutex(id + ".mmn_lock");
  }

  /** {@code scif_find_mmu_notifier} / {@code scif_add_mmu_notifier}: on the first cached copy. */
  @Override
  void beforeCopy() throws ErrnoException {
    mmnLock.lock();
    try {
      if (!registered) {
        mm.registerNotifier(this);
        hw.subscribed(MMN, 0, -1);
        registered = true;
      }
    } finally {
      mmnLock.unlock();
    }
  }

  @Override
  Use register(long start, long end, boolean write) throws ErrnoException {
    // The race: tc_lock is not held and no sequence is taken. An invalidation that starts from
    // here on, up to the insert below, walks a list without this window and is never seen again;
    // its PTE change then leaves the window caching frames the CPU no longer maps at its addresses.
    ScifWindow w = new ScifWindow(start, end, write, MMN);
    w.pfns = hw.pin(start, pages(start, end), write);
    hw.map(w);
    rt.yieldPoint(id + ": " + PINNED + " and the insert");
    tcLock.lock();
    try {
      return publishLocked(w); // the race: inserted whatever happened since the pin
    } finally {
      tcLock.unlock();
    }
  }

  @Override
  public boolean invalidateRangeStart(MmuNotifierRange range) {
    stats.invalidation();
    hw.callbackEntered(MMN, range.start(), range.end());
    unlinkAndQueue(range.start(), range.end());
    hw.callbackReturned(MMN, range.start(), range.end(), 0);
    return true;
  }

  @Override
  public void release(AddressSpace mm) {
    unlinkAndQueue(0, -1);
  }

  private void unlinkAndQueue(long start, long end) {
    List<ScifWindow> hit;
    tcLock.lock();
    try {
      hit = list.removeOverlapping(start, end);
      queueAllForCleanup(hit);
    } finally {
      tcLock.unlock();
    }
    if (!hit.isEmpty()) {
      hw.scheduleCleanup();
    }
  }

  /** {@code scif_ep_unregister_mmu_notifier}: after the worker destroyed every window. */
  @Override
  void unsubscribe() {
    mmnLock.lock();
    try {
      if (registered) {
        registered = false;
        mm.unregisterNotifier(this);
        hw.unsubscribed(MMN);
      }
    } finally {
      mmnLock.unlock();
    }
  }

  @Override
  public String toString() {
    return id + " (legacy window cache, " + MMN + ")";
  }
}
