package io.mmulab.driver.radeon;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * radeon as merged in 5.5 (commit 3506ff69c3ec): every BO embeds an interval notifier over exactly
 * its range; the node tree, the merging and the per-mm mutex are gone. The callback waits for the
 * BO's fences and moves it to the CPU under the BO reservation only; there is <em>no</em> {@code
 * mmu_interval_set_seq}, and the CS path still looks pages up with no {@code read_begin}/{@code
 * read_retry}: registration calls {@code mmu_interval_read_begin} once, only to wait out an
 * invalidation running at that moment, next to a FIXME saying GUP should be wrapped in the sequence
 * check. That race is kept and declared ({@link RadeonFactory#GUP_AFTER_START_AS_MERGED}).
 */
final class RadeonAsMerged extends RadeonUserptr {
  RadeonAsMerged(SyncRuntime rt, AddressSpace mm, String id, RadeonGart gart) {
    super(DriverVariant.AS_MERGED, rt, mm, id, gart);
  }

  /** {@code radeon_mn_register}: insert, then one {@code read_begin} (see the FIXME below). */
  @Override
  void register(RadeonBo bo) throws ErrnoException {
    bo.notifier =
        mm.insertIntervalNotifier(bo.start(), bo.size(), (s, r, seq) -> invalidate(bo, r, seq));
    gart.subscribed(bo.name, bo.start(), bo.end());
    // LEGACY RACE (the kernel's FIXME): this read_begin only waits for an invalidation running
    // now; its sequence is dropped, so a later GUP inside another start..end is never detected.
    bo.notifier.readBegin();
  }

  /** {@code radeon_mn_unregister}: remove; after it returns no callback runs. */
  @Override
  void unregister(RadeonBo bo) {
    MmuIntervalNotifier n = bo.notifier;
    if (n != null) {
      n.remove();
      gart.unsubscribed(bo.name);
    }
  }

  /** {@code radeon_mn_invalidate} (5.5). */
  private boolean invalidate(RadeonBo bo, MmuNotifierRange range, long curSeq) {
    long start = clipStart(bo, range.start());
    long end = clipEnd(bo, range.end());
    stats.invalidation();
    gart.callbackEntered(bo.name, start, end);
    // LEGACY RACE: a BO still on the CPU is skipped with no set_seq and no lock: a CS between its
    // GUP (old pfn, PTE not changed yet) and its bind is not told; it binds the old page after this
    // callback returned and the GPU then uses it after the PTE moved (STALE_USE).
    if (!bo.bound()) {
      gart.callbackReturned(bo.name, start, end, curSeq);
      return true;
    }
    if (!range.blockable()) {
      stats.refused();
      return false; // a fence wait would sleep; the OOM reaper gives up on this BO
    }
    bo.reserve.lock();
    try {
      evictLocked(bo);
    } finally {
      bo.reserve.unlock();
    }
    gart.callbackReturned(bo.name, start, end, curSeq);
    return true;
  }

  /** The CS path, unchanged from the legacy driver: GUP, then reserve and bind, no check. */
  @Override
  <F> @Nullable F validateAndSubmit(RadeonBo bo, boolean write, @Nullable Supplier<F> submitLocked)
      throws ErrnoException {
    while (true) {
      bo.reserve.lock();
      try {
        if (boundFor(bo, write)) {
          return submit(submitLocked);
        }
        if (bo.bound()) {
          evictLocked(bo);
        }
      } finally {
        bo.reserve.unlock();
      }
      // LEGACY RACE: GUP with no read_begin: it may run between the callback (which skipped this
      // unbound BO) and the PTE change, and return the old pfn.
      long[] pfns = pin(bo, write);
      boolean bound = false;
      F fence = null;
      bo.reserve.lock();
      try {
        if (!gart.hasPages(bo)) {
          bindLocked(bo, pfns, write); // no read_retry
          bound = true;
          fence = submit(submitLocked);
        }
      } finally {
        bo.reserve.unlock();
      }
      if (bound) {
        return fence;
      }
      unpin(pfns);
    }
  }
}
