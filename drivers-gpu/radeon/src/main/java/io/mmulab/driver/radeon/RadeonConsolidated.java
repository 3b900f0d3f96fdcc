package io.mmulab.driver.radeon;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The "ideal radeon" the 5.5 FIXME asks for (spec I1): the per-BO interval notifier of {@link
 * RadeonAsMerged} plus the collision-retry protocol, with the BO reservation as the update lock.
 *
 * <ul>
 *   <li>CS: {@code seq = read_begin} → GUP (mmap lock read, no driver lock) → reserve → {@code
 *       read_retry(seq)}: on a collision unreserve, unpin and start again; else bind into the GART
 *       and queue the job (its fence enters the BO's resv) before unreserving.
 *   <li>Callback: reserve (try-reserve when non-blockable) → {@code set_seq(cur_seq)} → if bound:
 *       non-blockable → false, else wait the BO's fences, unbind, unpin → unreserve.
 * </ul>
 *
 * <p>The update lock is the BO reservation because it is the lock that already serializes binding
 * with eviction: the CS binds and queues its job under it, the callback publishes the new sequence
 * and evicts under it, so a CS either queued its job before the callback reserved (the callback
 * then waits for that job's fence) or sees {@code read_retry} fail.
 */
final class RadeonConsolidated extends RadeonUserptr {
  RadeonConsolidated(SyncRuntime rt, AddressSpace mm, String id, RadeonGart gart) {
    super(DriverVariant.CONSOLIDATED, rt, mm, id, gart);
  }

  @Override
  void register(RadeonBo bo) throws ErrnoException {
    bo.notifier =
        mm.insertIntervalNotifier(
            bo.start(), bo.size(), (s, r, seq) -> invalidate(bo, s, r, seq), bo.reserve);
    gart.subscribed(bo.name, bo.start(), bo.end());
  }

  @Override
  void unregister(RadeonBo bo) {
    MmuIntervalNotifier n = bo.notifier;
    if (n != null) {
      n.remove();
      gart.unsubscribed(bo.name);
    }
  }

  /** The invalidate callback: set_seq and evict, under the reservation. */
  private boolean invalidate(
      RadeonBo bo, MmuIntervalNotifier sub, MmuNotifierRange range, long curSeq) {
    long start = clipStart(bo, range.start());
    long end = clipEnd(bo, range.end());
    stats.invalidation();
    gart.callbackEntered(bo.name, start, end);
    if (range.blockable()) {
      bo.reserve.lock();
    } else if (!bo.reserve.tryLock()) {
      stats.refused();
      return false; // the OOM reaper retries later
    }
    try {
      sub.setSeq(curSeq);
      if (bo.bound()) {
        if (!range.blockable()) {
          stats.refused();
          return false; // as 5.5: a bound BO needs a fence wait; the CS that retries sees set_seq
        }
        evictLocked(bo);
      }
    } finally {
      bo.reserve.unlock();
    }
    gart.callbackReturned(bo.name, start, end, curSeq);
    return true;
  }

  /** The CS path with the sequence check. */
  @Override
  <F> @Nullable F validateAndSubmit(RadeonBo bo, boolean write, @Nullable Supplier<F> submitLocked)
      throws ErrnoException {
    MmuIntervalNotifier sub =
        Objects.requireNonNull(bo.notifier, "a consolidated BO has a notifier");
    while (true) {
      bo.reserve.lock();
      try {
        // A binding still present is current: every callback that hit the BO evicted it under
        // this lock, and a bind only happens after a successful read_retry under it.
        if (boundFor(bo, write)) {
          return submit(submitLocked);
        }
        if (bo.bound()) {
          evictLocked(bo); // bound read-only, a write needs a writable binding
        }
      } finally {
        bo.reserve.unlock();
      }
      long seq = sub.readBegin(); // waits while an invalidation of this BO is in progress
      long[] pfns = pin(bo, write);
      rt.yieldPoint(id + ": pages pinned, before read_retry");
      boolean bound = false;
      F fence = null;
      bo.reserve.lock();
      try {
        if (sub.readRetry(seq)) {
          stats.retry(); // collided with an invalidation: again
        } else if (!gart.hasPages(bo)) {
          bindLocked(bo, pfns, write);
          bound = true;
          fence = submit(submitLocked);
        }
      } finally {
        bo.reserve.unlock();
      }
      if (bound) {
        return fence;
      }
      unpin(pfns); // a collision, or another CS bound the BO meanwhile: again
    }
  }
}
