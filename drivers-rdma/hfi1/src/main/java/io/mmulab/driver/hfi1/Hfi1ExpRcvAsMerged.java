package io.mmulab.driver.hfi1;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import java.util.ArrayList;
import java.util.List;

/**
 * Expected receive as merged in 5.5: each TID node gets its own interval notifier over its page,
 * inserted when the RcvArray entry is set. The callback still only tells user space (mark freed,
 * queue the TID, raise the event bit), and nothing calls {@code readBegin}/{@code readRetry}.
 * {@code freed} is guarded by {@code invalid_lock}.
 */
final class Hfi1ExpRcvAsMerged extends Hfi1ExpRcv {
  Hfi1ExpRcvAsMerged(
      SyncRuntime rt,
      AddressSpace mm,
      Hfi1Hw hw,
      Hfi1TidArray array,
      DriverStats stats,
      String id) {
    super(rt, mm, hw, array, stats, id);
  }

  @Override
  List<Hfi1TidNode> setUp(long va, int pages) throws ErrnoException {
    List<Hfi1TidNode> got = new ArrayList<>();
    try {
      for (int p = 0; p < pages; p++) {
        long page = va + p * PAGE;
        // AS-MERGED RACE (the kernel's own FIXME): the node's notifier is inserted only after the
        // page was pinned, so an invalidation between the pin and the insert reaches nothing; the
        // TID maps a frame the CPU no longer maps there and user space is never told.
        long pfn = pin(page);
        Hfi1TidNode n = reserve(page, pfn, false);
        got.add(n);
        n.notifier =
            mm.insertIntervalNotifier(page, PAGE, (sub, range, seq) -> invalidate(n, range, seq));
        hw.subscribed(n.name, page, page + PAGE);
        program(n, true);
      }
      publish(got);
      return got;
    } catch (ErrnoException e) {
      discard(got);
      throw e;
    }
  }

  /**
   * {@code tid_rb_invalidate} of 5.5.
   *
   * <p>AS-MERGED RACE (notify only, as before): the RcvArray entry stays programmed and the frame
   * pinned until user space frees the TID; packets keep landing in the orphaned page.
   */
  private boolean invalidate(Hfi1TidNode n, MmuNotifierRange range, long seq) {
    hw.callbackEntered(n.name, range.start(), range.end());
    stats.invalidation();
    report(n, true);
    hw.callbackReturned(n.name, range.start(), range.end(), seq);
    return true;
  }

  @Override
  void unprogram(Hfi1TidNode node) {
    MmuIntervalNotifier sub = node.notifier;
    if (sub != null) {
      sub.remove(); // waits for a running callback
      hw.unsubscribed(node.name);
    }
    array.clear(node.tid);
    unpin(node.pfn);
  }

  @Override
  void unsubscribe() {}
}
