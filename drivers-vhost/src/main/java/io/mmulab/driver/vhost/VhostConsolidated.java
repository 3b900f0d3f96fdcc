package io.mmulab.driver.vhost;

import static io.mmulab.api.hmm.HmmPfnLayout.MAINLINE;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A hypothetical design: the kernel never converted vhost — the acceleration was reverted before
 * 5.3 and never merged again — so this is the interval-notifier version its review asked for, not a
 * port of kernel code.
 *
 * <p>One interval notifier per ring, over the pages the ring spans, removed and inserted again when
 * {@code SET_VRING_ADDR} moves the ring; {@code mmu_lock} is the update lock. The callback takes it
 * (only tries it for a non-blockable range, answering false if it is busy), publishes the new
 * sequence, unpublishes the ring's map, unlocks, waits for the worker to leave the map and dirties
 * the used ring's pages. A non-blockable range that finds the worker inside a map cannot wait and
 * is refused; only ranges overlapping a ring ever reach a callback. The prefetch is the
 * collision-retry pattern: {@code readBegin}, fault the pages in (may sleep), lock, {@code
 * readRetry} — retry, at most {@value #MAX_ATTEMPTS} times, then leave the ring to the slow path —
 * and publish under the lock.
 *
 * <p>Locking: the worker takes {@code accessLock} before it loads a map and holds it until it is
 * done with it (the order the legacy port gets wrong); the callback takes it after the unpublish,
 * so it waits for exactly the workers that may have loaded the old map. Order: {@code accessLock}
 * is never taken with {@code mmu_lock} held.
 */
final class VhostConsolidated implements VhostAccel {
  static final int MAX_ATTEMPTS = 3;

  private final VhostDevice dev;
  private final VhostVirtqueue vq;
  private final Map<VhostRing, MmuIntervalNotifier> subs = new EnumMap<>(VhostRing.class);
  private final Mutex accessLock; // held by the worker while it uses a map

  VhostConsolidated(VhostDevice dev) {
    this.dev = dev;
    this.vq = dev.vq;
    this.accessLock = dev.rt.newMutex(dev.id + ".vq.access");
  }

  private boolean invalidate(
      VhostRing r, MmuIntervalNotifier sub, MmuNotifierRange range, long curSeq) {
    String name = dev.subscriptionName(r);
    boolean blockable = range.blockable();
    dev.stats.invalidation();
    dev.hw.callbackEntered(name, range.start(), range.end());
    if (blockable) {
      vq.mmuLock.lock();
    } else if (!vq.mmuLock.tryLock()) {
      dev.stats.refused();
      return false; // the OOM reaper retries later
    }
    VhostMap map;
    try {
      sub.setSeq(curSeq);
      map = vq.unpublish(r);
    } finally {
      vq.mmuLock.unlock();
    }
    // Wait for running accessors: a worker that loaded the map before the unpublish holds
    // accessLock until it is done with it.
    if (blockable) {
      accessLock.lock();
    } else if (!accessLock.tryLock()) {
      dev.stats.refused();
      return false; // the worker is inside a map and a non-blockable callback cannot wait
    }
    accessLock.unlock();
    if (map != null) {
      dev.setMapDirty(map);
    }
    dev.hw.callbackReturned(name, range.start(), range.end(), curSeq);
    return true;
  }

  @Override
  public void prefetch(VhostRing r) {
    MmuIntervalNotifier sub = subs.get(r);
    VhostUaddr u = vq.uaddr(r);
    if (sub == null || vq.map(r) != null || !dev.mm.mmgetNotZero()) {
      return;
    }
    try {
      long[] entries = new long[u.pages()];
      long flags = REQ_FAULT | (r.writable() ? REQ_WRITE : 0);
      HmmRange range =
          new HmmRange(sub, 0, u.pageStart(), u.pageEnd(), entries, flags, 0, null, MAINLINE);
      for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        range.setNotifierSeq(sub.readBegin());
        Arrays.fill(entries, 0);
        try {
          dev.hw.faultIn(range);
        } catch (ErrnoException e) {
          if (e.errno() == Errno.EBUSY) {
            dev.stats.retry();
            continue; // an invalidation collided with the walk
          }
          return; // a hole or no permission: the slow path reports it
        }
        dev.rt.yieldPoint(dev.id + ": ring pages faulted in, before mmu_lock");
        vq.mmuLock.lock();
        try {
          if (sub.readRetry(range.notifierSeq())) {
            dev.stats.retry();
            continue; // an invalidation ran since readBegin: the frames may be stale
          }
          long[] pfns = new long[entries.length];
          for (int i = 0; i < pfns.length; i++) {
            pfns[i] = MAINLINE.pfn(entries[i]);
          }
          vq.publish(new VhostMap(dev, dev.subscriptionName(r), r, u, pfns));
          dev.stats.fault();
          return;
        } finally {
          vq.mmuLock.unlock();
        }
      }
    } finally {
      dev.mm.mmput();
    }
  }

  @Override
  public boolean access(VhostRing r, long va, boolean write, long value, long @Nullable [] out) {
    accessLock.lock(); // announced before the map is loaded
    try {
      VhostMap map = vq.map(r);
      if (map == null) {
        return false;
      }
      if (write) {
        map.write(va, value);
      } else {
        Objects.requireNonNull(out, "a read has somewhere to put the word")[0] = map.read(va);
      }
      return true;
    } finally {
      accessLock.unlock();
    }
  }

  /**
   * Each ring's notifier is removed (no callback runs for the old range once that returns) and a
   * new one inserted over the new range; a range opened against the old address needs no
   * bookkeeping, since the core, not the driver, tracks open invalidations.
   */
  @Override
  public void setVringAddr(VhostUaddr desc, VhostUaddr avail, VhostUaddr used)
      throws ErrnoException {
    unsubscribe();
    vq.mmuLock.lock();
    try {
      vq.setUaddr(VhostRing.DESC, desc);
      vq.setUaddr(VhostRing.AVAIL, avail);
      vq.setUaddr(VhostRing.USED, used);
    } finally {
      vq.mmuLock.unlock();
    }
    for (VhostRing r : VhostRing.values()) {
      VhostUaddr u = vq.uaddr(r);
      long length = u.pageEnd() - u.pageStart();
      MmuIntervalNotifier sub =
          dev.mm.insertIntervalNotifier(
              u.pageStart(), length, (s, range, seq) -> invalidate(r, s, range, seq), vq.mmuLock);
      subs.put(r, sub);
      dev.hw.subscribed(dev.subscriptionName(r), u.pageStart(), u.pageEnd());
    }
  }

  /**
   * Drops every ring's map, then removes its notifier: the worker is not running, and a map must
   * not outlive the notifier that keeps it valid.
   */
  private void unsubscribe() {
    for (VhostRing r : VhostRing.values()) {
      MmuIntervalNotifier sub = subs.remove(r);
      if (sub == null) {
        continue;
      }
      VhostMap map;
      vq.mmuLock.lock();
      try {
        map = vq.unpublish(r);
      } finally {
        vq.mmuLock.unlock();
      }
      if (map != null) {
        dev.setMapDirty(map);
      }
      sub.remove();
      dev.hw.unsubscribed(dev.subscriptionName(r));
    }
  }

  @Override
  public void teardown() {
    unsubscribe();
  }
}
