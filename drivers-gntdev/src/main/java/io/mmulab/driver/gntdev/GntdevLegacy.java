package io.mmulab.driver.gntdev;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import java.util.ArrayList;
import java.util.List;

/**
 * gntdev before 5.5: one classic notifier per open file, registered at open for the opener's
 * address space ({@code priv->mm}); the lists {@code maps} and {@code freeable_maps} (maps whose
 * {@code UNMAP_GRANT_REF} came while still mmapped) under the mutex {@code priv->lock}.
 *
 * <ul>
 *   <li>Start ({@code mn_invl_range_start}): lock the mutex (try-lock when non-blockable, else
 *       {@code -EAGAIN}); walk both lists; a map whose VMA overlaps the range: non-blockable →
 *       {@code -EAGAIN}, else unmap the overlapping grants synchronously.
 *   <li>Release ({@code mn_release}): the same for every map, over the whole address space.
 *   <li>mmap from an address space other than the opener's is refused ({@code EINVAL}): the one
 *       notifier watches only the opener's.
 *   <li>VMA close takes the mutex only to clear {@code map->vma}, fencing off a concurrent start.
 * </ul>
 */
final class GntdevLegacy extends GntdevFile implements MmuNotifier {
  private static final String SUB = "mn";

  // Guarded by lock.
  private final List<GntdevGrantMap> freeableMaps = new ArrayList<>();
  private boolean registered;

  /** The notifier watches the whole address space (kernel {@code TASK_SIZE}). */
  private static final long TASK_SIZE = 1L << 47;

  GntdevLegacy(String id, AddressSpace mm, SyncRuntime rt, GntdevHypervisor hv) {
    super(DriverVariant.LEGACY, id, mm, rt, hv);
  }

  @Override
  void open() throws ErrnoException {
    mm.registerNotifier(this);
    registered = true;
    hv.subscribed(SUB, mm.name(), 0, TASK_SIZE);
  }

  @Override
  void mmap(GntdevGrantMap map) throws ErrnoException {
    if (map.mm != mm) {
      lock.lock();
      try {
        maps.remove(map);
      } finally {
        lock.unlock();
      }
      throw new ErrnoException(
          Errno.EINVAL,
          id + ": mmap in " + map.mm.name() + ", the file was opened by " + mm.name());
    }
  }

  @Override
  void vmaClose(GntdevGrantMap map) {
    lock.lock();
    try {
      map.vma = false; // a start running now must not use the vanishing VMA
      freeableMaps.remove(map);
    } finally {
      lock.unlock();
    }
  }

  @Override
  void unmapGrantPages(GntdevGrantMap map, int first, int end) {
    lock.lock();
    try {
      unmapSync(map, first, end);
    } finally {
      lock.unlock();
    }
  }

  @Override
  List<GntdevGrantMap> allMaps() {
    lock.lock();
    try {
      List<GntdevGrantMap> all = new ArrayList<>(maps);
      all.addAll(freeableMaps);
      return all;
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@code UNMAP_GRANT_REF} for every map first: those still mmapped wait on {@code freeable_maps}
   * (where the notifier still finds them) until their VMA closes.
   */
  @Override
  void close() {
    unmapIoctlAll();
    super.close();
  }

  private void unmapIoctlAll() {
    lock.lock();
    try {
      for (GntdevGrantMap m : maps) {
        if (m.vma) {
          freeableMaps.add(m);
        }
      }
      maps.clear();
    } finally {
      lock.unlock();
    }
  }

  @Override
  void release() {
    lock.lock();
    try {
      maps.clear();
      freeableMaps.clear();
    } finally {
      lock.unlock();
    }
    if (registered) {
      registered = false;
      mm.unregisterNotifier(this); // calls release first if exit has not
      hv.unsubscribed(SUB);
    }
  }

  @Override
  public boolean invalidateRangeStart(MmuNotifierRange range) {
    stats.invalidation();
    hv.callbackEntered(SUB, mm.name(), range.start(), range.end());
    if (range.blockable()) {
      lock.lock();
    } else if (!lock.tryLock()) {
      stats.refused();
      return false;
    }
    try {
      if (!range.blockable() && (overlaps(maps, range) || overlaps(freeableMaps, range))) {
        stats.refused();
        return false; // unmapping would sleep: -EAGAIN, the OOM reaper skips this range
      }
      unmapInRange(maps, range);
      unmapInRange(freeableMaps, range);
    } finally {
      lock.unlock();
    }
    hv.callbackReturned(SUB, mm.name(), range.start(), range.end(), 0);
    return true;
  }

  @Override
  public void release(AddressSpace released) {
    MmuNotifierRange all = MmuNotifierRange.release(released);
    stats.invalidation();
    hv.callbackEntered(SUB, mm.name(), all.start(), all.end());
    lock.lock();
    try {
      unmapInRange(maps, all);
      unmapInRange(freeableMaps, all);
    } finally {
      lock.unlock();
    }
    hv.callbackReturned(SUB, mm.name(), all.start(), all.end(), 0);
  }

  /** Caller: lock. */
  private static boolean overlaps(List<GntdevGrantMap> list, MmuNotifierRange range) {
    for (GntdevGrantMap m : list) {
      if (m.vma && m.overlaps(range.start(), range.end())) {
        return true;
      }
    }
    return false;
  }

  /** {@code unmap_if_in_range} for every map of the list. Caller: lock. */
  private void unmapInRange(List<GntdevGrantMap> list, MmuNotifierRange range) {
    for (GntdevGrantMap m : list) {
      if (m.vma && m.overlaps(range.start(), range.end())) {
        unmapSync(m, m.firstIndex(range.start()), m.endIndex(range.end()));
      }
    }
  }
}
