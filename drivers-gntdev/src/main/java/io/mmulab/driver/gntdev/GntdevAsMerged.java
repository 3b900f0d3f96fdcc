package io.mmulab.driver.gntdev;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;

/**
 * gntdev as merged in 5.5 (commit d3eeb1d77c5d): every grant map embeds an interval notifier,
 * inserted by mmap over the map's VMA and removed when the VMA closes; {@code freeable_maps},
 * {@code priv->mm} and the per-file notifier are gone, and mmap from any address space works.
 *
 * <ul>
 *   <li>Callback: non-blockable → false; else unmap the grants of the map's pages in the range,
 *       synchronously (waiting until the pages are no longer in use), with no lock.
 *   <li>No update lock and no {@code setSeq}: see {@link #mmap}.
 * </ul>
 */
class GntdevAsMerged extends GntdevFile {
  GntdevAsMerged(String id, AddressSpace mm, SyncRuntime rt, GntdevHypervisor hv) {
    this(DriverVariant.AS_MERGED, id, mm, rt, hv);
  }

  GntdevAsMerged(
      DriverVariant variant, String id, AddressSpace mm, SyncRuntime rt, GntdevHypervisor hv) {
    super(variant, id, mm, rt, hv);
  }

  @Override
  void open() {}

  /**
   * {@code mmu_interval_notifier_insert_locked} over the map. The grants are mapped by the same
   * mmap path under the mmap lock held for write, and every invalidation of these pages runs with
   * the mmap lock held (or the address space's last user gone, which our own user reference rules
   * out): no invalidation can run between the insert and the map hypercalls. So there is no
   * lookup-then-program window for a sequence count to close: no update lock, no {@code setSeq},
   * and only a bare {@code readBegin} (it returns at once: nothing can be invalidating).
   */
  @Override
  final void mmap(GntdevGrantMap map) throws ErrnoException {
    map.notifier =
        map.mm.insertIntervalNotifierLocked(
            map.start, map.end() - map.start, (s, r, seq) -> invalidate(map, r, seq), null);
    hv.subscribed(map.name, map.mm.name(), map.start, map.end());
    map.notifier.readBegin();
  }

  @Override
  void vmaClose(GntdevGrantMap map) {
    MmuIntervalNotifier n = map.notifier;
    map.vma = false;
    if (n != null) {
      map.notifier = null;
      n.remove();
      hv.unsubscribed(map.name);
    }
  }

  @Override
  void unmapGrantPages(GntdevGrantMap map, int first, int end) {
    // the race: no lock. Two invalidations of the same pages at once (each holding the mmap lock
    // for read, say a migration and an MADV_DONTNEED) both read a page's handle before either
    // clears it and both unmap it; the second hypercall unmaps a handle that is gone.
    unmapSync(map, first, end);
  }

  @Override
  void release() {}

  /** {@code gntdev_invalidate}. */
  private boolean invalidate(GntdevGrantMap map, MmuNotifierRange range, long curSeq) {
    stats.invalidation();
    if (!range.blockable()) {
      stats.refused();
      return false;
    }
    long start = clipStart(map, range);
    long end = clipEnd(map, range);
    String as = map.mm.name();
    hv.callbackEntered(map.name, as, start, end);
    // The notifier's range is the VMA's at mmap time and a split does not update it: what to unmap
    // is derived again from the map's pages (those with no grant are skipped).
    unmapGrantPages(map, map.firstIndex(range.start()), map.endIndex(range.end()));
    hv.callbackReturned(map.name, as, start, end, curSeq);
    return true;
  }
}
