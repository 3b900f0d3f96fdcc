package io.mmulab.driver.gntdev;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;

/**
 * gntdev of {@link GntdevAsMerged} with the 2022 fix dbe97cff7dd9 ("avoid blocking in
 * unmap_grant_pages") and its follow-up: the unmap is asynchronous, so a callback never waits for
 * pages another driver still uses (the cross-driver deadlock of the synchronous unmap).
 *
 * <ul>
 *   <li>Per page a "being removed" flag: a page whose unmap is queued is not unmapped again, and
 *       its slot takes no new grant until the unmap completed.
 *   <li>A map reference ({@code users}) is held across each queued unmap and dropped by its
 *       completion; the map leaves the file only when the last one is gone, so its being-removed
 *       state outlives the VMA's close.
 *   <li>Pages that never had a grant mapped ({@code INVALID_GRANT_HANDLE}) are skipped, not
 *       unmapped (the follow-up: their failure was reported as an error).
 * </ul>
 *
 * <p>The flags and {@code users} are guarded by the map's spin lock. The kernel checks {@code
 * being_removed} without a lock; two callbacks over the same pages at once could both queue an
 * unmap there, and this port takes the lock to rule it out (our design).
 */
final class GntdevConsolidated extends GntdevAsMerged {
  GntdevConsolidated(String id, AddressSpace mm, SyncRuntime rt, GntdevHypervisor hv) {
    super(DriverVariant.CONSOLIDATED, id, mm, rt, hv);
  }

  @Override
  boolean beingRemoved(GntdevGrantMap map, int index) {
    map.lock.lock();
    try {
      return map.beingRemoved[index];
    } finally {
      map.lock.unlock();
    }
  }

  /**
   * Each page's check, unmap call and state change happen under the map's lock, so a concurrent
   * callback sees the page either with no grant or with its unmap in flight (the hypervisor marks a
   * queued unmap at once): either way it may return, and the page is unmapped exactly once.
   */
  @Override
  void unmapGrantPages(GntdevGrantMap map, int first, int end) {
    for (int i = first; i < end; i++) {
      int page = i;
      map.lock.lock();
      try {
        long handle = map.handles.get(i);
        if (handle == GntdevGrantMap.INVALID_HANDLE || map.beingRemoved[i]) {
          continue; // never mapped, or its unmap is already queued
        }
        int ref = map.refs[i];
        if (hv.unmapGrantAsync(handle, () -> unmapped(map, page, ref))) {
          map.handles.set(i, GntdevGrantMap.INVALID_HANDLE);
          hv.endForeignAccess(ref);
        } else {
          map.beingRemoved[i] = true;
          map.users++; // held across the asynchronous unmap
        }
      } catch (ErrnoException e) {
        throw new IllegalStateException(id + ": the handle of a mapped page was lost", e);
      } finally {
        map.lock.unlock();
      }
    }
  }

  /** A queued unmap's completion, in the hypervisor's worker. */
  private void unmapped(GntdevGrantMap map, int index, int ref) {
    hv.endForeignAccess(ref);
    map.lock.lock();
    try {
      map.handles.set(index, GntdevGrantMap.INVALID_HANDLE);
      map.beingRemoved[index] = false;
    } finally {
      map.lock.unlock();
    }
    unmapsCompleted.incrementAndGet();
    unmapsDone.wakeUpAll(); // a mapping waiting for this slot may go on
    putMap(map);
  }

  @Override
  void vmaClose(GntdevGrantMap map) {
    super.vmaClose(map);
    putMap(map); // the VMA's reference
  }

  private void putMap(GntdevGrantMap map) {
    boolean last;
    map.lock.lock();
    try {
      last = --map.users == 0;
    } finally {
      map.lock.unlock();
    }
    if (last) {
      lock.lock();
      try {
        maps.remove(map);
      } finally {
        lock.unlock();
      }
    }
  }
}
