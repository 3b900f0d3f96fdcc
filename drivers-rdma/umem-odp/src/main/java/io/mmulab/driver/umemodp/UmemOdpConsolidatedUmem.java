package io.mmulab.driver.umemodp;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifierRange;

/**
 * CONSOLIDATED (5.5, f25a546e6529) umem: its own interval notifier over its range, with {@code
 * umem_mutex} as the update lock. The callback (kernel {@code mlx5_ib_invalidate_range} as {@code
 * mlx5_mn_ops}) refuses a non-blockable range, else takes {@code umem_mutex}, {@code setSeq}s and
 * zaps; the fault path brackets its GUP with {@code readBegin} / {@code readRetry} and writes the
 * MTT only under {@code umem_mutex} with no collision.
 *
 * <p>Why {@code umem_mutex} is the update lock: it is what already serialized every MTT update of
 * the region with every zap, so checking {@code readRetry} under it and updating before dropping it
 * leaves no gap for an invalidation between the check and the update.
 */
final class UmemOdpConsolidatedUmem extends UmemOdpUmem implements MmuIntervalNotifierOps {
  private final MmuIntervalNotifier notifier;

  /** Kernel {@code ib_init_umem_odp}: the notifier over the page-aligned range. */
  UmemOdpConsolidatedUmem(UmemOdpContext dev, UmemOdpMtt mr) throws ErrnoException {
    super(dev, mr);
    this.notifier = dev.mm().insertIntervalNotifier(start(), end() - start(), this, umemMutex);
    reportInserted();
  }

  @Override
  public boolean invalidate(MmuIntervalNotifier sub, MmuNotifierRange range, long curSeq) {
    dev.stats().invalidation();
    if (!range.blockable()) {
      dev.stats().refused();
      return false;
    }
    umemMutex.lock();
    try {
      sub.setSeq(curSeq);
      reportEntered(range.start(), range.end());
      zapLocked(range.start(), range.end());
      reportReturned(range.start(), range.end(), curSeq);
    } finally {
      umemMutex.unlock();
    }
    return true;
  }

  @Override
  boolean pagefault(long page, boolean write) throws ErrnoException {
    long seq = notifier.readBegin();
    long pfn = gup(page, write);
    try {
      dev.runtime().yieldPoint(mr + ": page got, before umem_mutex");
      if (notifier.checkRetry(seq)) {
        return false; // the early out: an invalidation already passed, refault
      }
      umemMutex.lock();
      try {
        if (notifier.readRetry(seq)) {
          return false;
        }
        mapDmaLocked(page, pfn, write);
        updateXltLocked(page);
        return true;
      } finally {
        umemMutex.unlock();
      }
    } finally {
      putPage(pfn); // no reference is held after mapping
    }
  }

  @Override
  void release() {
    unmapAll();
    notifier.remove();
    reportRemoved();
  }
}
