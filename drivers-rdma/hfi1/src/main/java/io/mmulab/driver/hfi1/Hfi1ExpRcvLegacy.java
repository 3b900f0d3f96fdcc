package io.mmulab.driver.hfi1;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import java.util.ArrayList;
import java.util.List;

/**
 * Expected receive before 5.5: the TIDs live in the context's {@link Hfi1MmuRb} handler (a classic
 * notifier and a private tree). An invalidation never unprograms a TID, since the driver may not
 * unpin memory user space still receives into: it marks the node freed, queues its TID on {@code
 * invalid_tids} and raises the event bit. {@code freed} is guarded by {@code invalid_lock}.
 */
final class Hfi1ExpRcvLegacy extends Hfi1ExpRcv implements Hfi1MmuRb.Ops<Hfi1TidNode> {
  private final Hfi1MmuRb<Hfi1TidNode> handler;

  Hfi1ExpRcvLegacy(
      SyncRuntime rt, AddressSpace mm, Hfi1Hw hw, Hfi1TidArray array, DriverStats stats, String id)
      throws ErrnoException {
    super(rt, mm, hw, array, stats, id);
    handler = new Hfi1MmuRb<>(rt, id + ".mmu_rb", hw, stats, this);
    handler.register(mm);
  }

  @Override
  List<Hfi1TidNode> setUp(long va, int pages) throws ErrnoException {
    List<Hfi1TidNode> got = new ArrayList<>();
    try {
      for (int p = 0; p < pages; p++) {
        long page = va + p * PAGE;
        // LEGACY RACE (pin before insert): an invalidation of the page that runs between this
        // pin and the insert below finds no node, so the TID is programmed with a frame the CPU
        // no longer maps there and user space is never told.
        long pfn = pin(page);
        Hfi1TidNode n = reserve(page, pfn, false);
        got.add(n);
        boolean inserted;
        handler.lock().lock();
        try {
          inserted = handler.insertLocked(n);
        } finally {
          handler.lock().unlock();
        }
        if (!inserted) {
          throw new ErrnoException(
              Errno.EINVAL, id + ": 0x" + Long.toHexString(page) + " has a TID");
        }
        program(n, false);
      }
      publish(got);
      return got;
    } catch (ErrnoException e) {
      discard(got);
      throw e;
    }
  }

  /**
   * The TID ops' invalidate, under the handler's lock.
   *
   * <p>LEGACY RACE (notify only): the RcvArray entry stays programmed and the frame pinned; the
   * chip keeps placing packets in a page the process no longer maps there until user space reads
   * the event and frees the TID.
   */
  @Override
  public boolean invalidate(Hfi1TidNode node, MmuNotifierRange range) {
    report(node, true);
    return false; // a TID node leaves the tree only through TID_FREE
  }

  /** Never called with a node: the TID ops give none up. */
  @Override
  public void removed(List<Hfi1TidNode> nodes) {
    if (!nodes.isEmpty()) {
      throw new IllegalStateException(id + ": the TID ops unlinked " + nodes);
    }
  }

  @Override
  void unprogram(Hfi1TidNode node) {
    handler.lock().lock();
    try {
      handler.removeLocked(node);
    } finally {
      handler.lock().unlock();
    }
    array.clear(node.tid);
    unpin(node.pfn);
  }

  @Override
  void unsubscribe() {
    handler.unregister(mm);
  }
}
