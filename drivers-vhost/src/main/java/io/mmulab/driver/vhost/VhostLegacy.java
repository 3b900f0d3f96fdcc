package io.mmulab.driver.vhost;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.sim.vhost.Linux53Notifier;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The acceleration as merged for 5.3-rc1 (7f466032dc9e) with its fix series: one classic notifier
 * per device; per virtqueue the ring addresses, the published maps, {@code mmu_lock} and {@code
 * invalidate_count}. The prefetch refuses while the count is non-zero, looks the pages up without
 * sleeping under {@code mmu_lock}, drops the references at once (nothing is pinned) and publishes.
 * {@code invalidate_range_start} bumps the count for each ring the range overlaps, unpublishes its
 * map, waits for the worker to leave it and dirties the used ring's pages; {@code
 * invalidate_range_end} decrements the count for each ring the range overlaps <em>now</em>.
 *
 * <p>The worker announces itself to the waiting callback with a counter ({@code vq->ref}, odd while
 * it uses a map), the fix series' replacement for RCU.
 *
 * <p>Three findings are kept on purpose (see the {@code the race:} comments): the worker's load of
 * the map is not ordered before its announcement (use after free); {@code SET_VRING_ADDR} between a
 * start and its end leaves the count unbalanced (the fast path stays off); and every non-blockable
 * range is refused, overlapping or not (the OOM reaper gives up).
 */
final class VhostLegacy implements VhostAccel, MmuNotifier {
  static final String SUB = "vhost_notifier";
  private static final int PAGE_SHIFT = AddressSpace.PAGE_SHIFT;

  private final VhostDevice dev;
  private final VhostVirtqueue vq;
  private int invalidateCount; // guarded by vq.mmuLock
  private volatile long ref; // written by the worker only, with vq.mutex held
  private final WaitQueue refWq;

  VhostLegacy(VhostDevice dev) throws ErrnoException {
    this.dev = dev;
    this.vq = dev.vq;
    this.refWq = dev.rt.newWaitQueue(dev.id + ".vq.ref");
    Linux53Notifier.register(dev.mm, this); // the 5.3 core: no end after a refused start
    dev.hw.subscribed(SUB, 0, -1);
  }

  /** Kernel {@code vhost_vq_map_prefetch}, for one ring. */
  @Override
  public void prefetch(VhostRing r) {
    if (!dev.mm.mmgetNotZero()) {
      return;
    }
    try {
      vq.mmuLock.lock();
      try {
        VhostUaddr u = vq.uaddr(r);
        if (invalidateCount != 0 || u == null || vq.map(r) != null) {
          return; // an invalidation is in flight (or nothing to map): the slow path
        }
        long[] pfns = new long[u.pages()];
        int got = 0;
        for (; got < pfns.length; got++) {
          long pfn = dev.hw.getPageFast(u.pageStart() + ((long) got << PAGE_SHIFT), r.writable());
          if (pfn < 0) {
            break;
          }
          pfns[got] = pfn;
        }
        dev.stats.pinned(got);
        for (int i = 0; i < got; i++) {
          dev.hw.putPage(pfns[i]); // no pin: the map is valid only as long as the notifier says
        }
        dev.stats.unpinned(got);
        if (got == pfns.length) {
          vq.publish(new VhostMap(dev, null, r, u, pfns));
          dev.stats.fault();
        }
      } finally {
        vq.mmuLock.unlock();
      }
    } finally {
      dev.mm.mmput();
    }
  }

  @Override
  public boolean access(VhostRing r, long va, boolean write, long value, long @Nullable [] out) {
    VhostMap map = vq.map(r);
    if (map == null) {
      return false;
    }
    // The race: the map is loaded before the worker's announcement below is visible (the fix
    // series bumped vq->ref with a release store, which orders nothing after it). A callback that
    // unpublishes now and reads ref finds it even, does not wait, and returns; the page is freed
    // and this access reaches the freed (or reused) frame.
    dev.rt.yieldPoint(dev.id + ": map loaded, ref not bumped yet");
    ref++;
    try {
      if (write) {
        map.write(va, value);
      } else {
        Objects.requireNonNull(out, "a read has somewhere to put the word")[0] = map.read(va);
      }
    } finally {
      ref++;
      refWq.wakeUpAll();
    }
    return true;
  }

  /** Kernel {@code vhost_invalidate_range_start}. */
  @Override
  public boolean invalidateRangeStart(MmuNotifierRange range) {
    dev.stats.invalidation();
    dev.hw.callbackEntered(SUB, range.start(), range.end());
    if (!range.blockable()) {
      // The race (the OOM reaper): -EAGAIN for every non-blockable range, even one that overlaps
      // no ring, so the reaper gives up on every VMA of a process that has a vhost device.
      dev.stats.refused();
      return false;
    }
    for (VhostRing r : VhostRing.values()) {
      invalidateVqStart(r, range.start(), range.end());
    }
    dev.hw.callbackReturned(SUB, range.start(), range.end(), 0);
    return true;
  }

  private void invalidateVqStart(VhostRing r, long start, long end) {
    VhostMap map;
    vq.mmuLock.lock();
    try {
      VhostUaddr u = vq.uaddr(r);
      if (u == null || !u.overlaps(start, end)) {
        return;
      }
      invalidateCount++;
      map = vq.unpublish(r);
    } finally {
      vq.mmuLock.unlock();
    }
    if (map != null) {
      syncAccess();
      dev.setMapDirty(map);
    }
  }

  /** Kernel {@code vhost_vq_sync_access}: wait while the worker is inside a map access. */
  private void syncAccess() {
    long seen = ref;
    if ((seen & 1) != 0) {
      refWq.waitEvent(() -> ref != seen);
    }
  }

  /** Kernel {@code vhost_invalidate_range_end}. */
  @Override
  public void invalidateRangeEnd(MmuNotifierRange range) {
    vq.mmuLock.lock();
    try {
      for (VhostRing r : VhostRing.values()) {
        VhostUaddr u = vq.uaddr(r);
        // The race (count imbalance): the test is against the ring's address now, not the one the
        // matching start saw; a SET_VRING_ADDR in between skips the decrement and the count stays
        // above zero for good (or one the start skipped is decremented below zero).
        if (u != null && u.overlaps(range.start(), range.end())) {
          invalidateCount--;
        }
      }
    } finally {
      vq.mmuLock.unlock();
    }
  }

  /** Process exit: every map goes, as for a range over the whole address space. */
  @Override
  public void release(AddressSpace as) {
    dev.stats.invalidation();
    dev.hw.callbackEntered(SUB, 0, -1);
    dropMaps(true);
    dev.hw.callbackReturned(SUB, 0, -1, 0);
  }

  private void dropMaps(boolean sync) {
    for (VhostRing r : VhostRing.values()) {
      VhostMap map;
      vq.mmuLock.lock();
      try {
        map = vq.unpublish(r);
      } finally {
        vq.mmuLock.unlock();
      }
      if (map != null) {
        if (sync) {
          syncAccess();
        }
        dev.setMapDirty(map);
      }
    }
  }

  /**
   * Kernel {@code vhost_vring_set_num_addr} with the acceleration: the maps go (the worker is not
   * running: the caller holds the vq mutex) and the addresses change under {@code mmu_lock}; the
   * count is left as it is (the fix series later reset it here).
   */
  @Override
  public void setVringAddr(VhostUaddr desc, VhostUaddr avail, VhostUaddr used) {
    dropMaps(false);
    vq.mmuLock.lock();
    try {
      vq.setUaddr(VhostRing.DESC, desc);
      vq.setUaddr(VhostRing.AVAIL, avail);
      vq.setUaddr(VhostRing.USED, used);
    } finally {
      vq.mmuLock.unlock();
    }
  }

  /** The count, for tests of the imbalance. */
  int invalidateCount() {
    vq.mmuLock.lock();
    try {
      return invalidateCount;
    } finally {
      vq.mmuLock.unlock();
    }
  }

  @Override
  public void teardown() {
    dev.mm.unregisterNotifier(this); // no callback runs once this returns
    dev.hw.unsubscribed(SUB);
    dropMaps(false);
  }

  @Override
  public String toString() {
    return SUB + "[" + dev.id + "]";
  }
}
