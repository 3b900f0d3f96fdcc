package io.mmulab.driver.vhost;

import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * One virtqueue's metadata state (the part of kernel {@code struct vhost_virtqueue} the
 * acceleration added): where each ring lives and the map published for it.
 *
 * <p>Locking: {@link #mutex} ({@code vq->mutex}) is held by the worker for every access round and
 * by {@code SET_VRING_ADDR}, so exactly one thread uses the maps at a time; {@link #mmuLock}
 * ({@code vq->mmu_lock}) is held to publish or unpublish a map and to change a ring's address.
 * Readers of the maps load them without the lock, which is what each variant's notifier side must
 * make safe.
 */
final class VhostVirtqueue {
  final Mutex mutex;
  final SpinLock mmuLock;
  private final AtomicReferenceArray<VhostUaddr> uaddrs =
      new AtomicReferenceArray<>(VhostRing.values().length);
  private final AtomicReferenceArray<VhostMap> maps =
      new AtomicReferenceArray<>(VhostRing.values().length);

  VhostVirtqueue(SyncRuntime rt, String id) {
    mutex = rt.newMutex(id + ".vq.mutex");
    mmuLock = rt.newSpinLock(id + ".vq.mmu_lock");
  }

  VhostUaddr uaddr(VhostRing r) {
    return uaddrs.get(r.ordinal());
  }

  boolean configured() {
    return uaddr(VhostRing.USED) != null;
  }

  /** The ring holding {@code va}, or null: the rings are disjoint. */
  @Nullable VhostRing ringOf(long va) {
    for (VhostRing r : VhostRing.values()) {
      VhostUaddr u = uaddr(r);
      if (u != null && u.contains(va)) {
        return r;
      }
    }
    return null;
  }

  VhostMap map(VhostRing r) {
    return maps.get(r.ordinal());
  }

  void setUaddr(VhostRing r, VhostUaddr u) {
    requireMmuLock("ring addresses change");
    uaddrs.set(r.ordinal(), u);
  }

  void publish(VhostMap m) {
    requireMmuLock("a map is published");
    maps.set(m.ring.ordinal(), m);
    m.reportMapped();
  }

  /**
   * Unpublishes the ring's map, if any, and tells the checker. A page the map shares with another
   * ring's map stays mapped for that one: the checker's unmap covers whole pages, so the other map
   * is reported again.
   */
  VhostMap unpublish(VhostRing r) {
    requireMmuLock("a map is unpublished");
    VhostMap old = maps.getAndSet(r.ordinal(), null);
    if (old != null) {
      old.reportUnmapped();
      for (VhostRing o : VhostRing.values()) {
        VhostMap other = map(o);
        if (other != null && other.sharesPageWith(old)) {
          other.reportMapped();
        }
      }
    }
    return old;
  }

  private void requireMmuLock(String what) {
    if (!mmuLock.isHeldByCurrentThread()) {
      throw new IllegalStateException(
          "vhost locking rule broken: " + what + " without " + mmuLock.name());
    }
  }
}
