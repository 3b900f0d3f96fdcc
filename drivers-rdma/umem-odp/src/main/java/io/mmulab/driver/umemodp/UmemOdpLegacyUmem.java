package io.mmulab.driver.umemodp;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Completion;

/**
 * LEGACY (v5.4) umem: the KVM-style pair {@code notifiers_count} / {@code notifiers_seq} that the
 * per-mm notifier ({@link UmemOdpPerMm}) updates at start and end, and a completion the fault path
 * waits on after {@code -EAGAIN}, for at most {@link #MMU_NOTIFIER_TIMEOUT_NANOS}.
 *
 * <p>Locking: {@code umemMutex} guards {@code notifiersCount} and {@code completion} and every
 * write of {@code notifiersSeq}, which the fault path first reads without it (a {@code READ_ONCE}).
 */
final class UmemOdpLegacyUmem extends UmemOdpUmem {
  /** Kernel {@code MMU_NOTIFIER_TIMEOUT}: 1 s. */
  static final long MMU_NOTIFIER_TIMEOUT_NANOS = 1_000_000_000L;

  private final UmemOdpPerMm perMm;
  private int notifiersCount; // guarded by umemMutex
  private volatile int notifiersSeq; // written under umemMutex
  // Kernel reinit_completion re-arms one completion; a fresh one here (the api has no re-arm).
  private volatile Completion completion; // replaced under umemMutex

  private UmemOdpLegacyUmem(UmemOdpContext dev, UmemOdpMtt mr, UmemOdpPerMm perMm) {
    super(dev, mr);
    this.perMm = perMm;
    this.completion = newCompletion();
  }

  /**
   * Kernel {@code ib_umem_odp_get} + {@code ib_init_umem_odp}: a reference on the per-mm context
   * ({@code mmu_notifier_get}, which takes the mmap lock for write), then the umem into its tree.
   */
  static UmemOdpLegacyUmem get(UmemOdpContext dev, UmemOdpMtt mr) throws ErrnoException {
    UmemOdpPerMm perMm = dev.mm().getNotifier(dev.perMmFactory());
    UmemOdpLegacyUmem umem = new UmemOdpLegacyUmem(dev, mr, perMm);
    dev.runtime().yieldPoint(mr + ": per-mm context got, before umem_rwsem");
    perMm.insert(umem);
    umem.reportInserted();
    return umem;
  }

  private Completion newCompletion() {
    return dev.runtime().newCompletion(umemMutex.name() + ".notifier_completion");
  }

  /** Kernel {@code ib_umem_notifier_start_account} + the device's {@code invalidate_range}. */
  void invalidateStart(MmuNotifierRange range) {
    dev.stats().invalidation();
    umemMutex.lock();
    try {
      if (notifiersCount++ == 0) {
        completion = newCompletion();
      }
    } finally {
      umemMutex.unlock();
    }
    umemMutex.lock(); // mlx5_ib_invalidate_range takes it again
    try {
      reportEntered(range.start(), range.end());
      zapLocked(range.start(), range.end());
      reportReturned(range.start(), range.end(), 0);
    } finally {
      umemMutex.unlock();
    }
  }

  /** Kernel {@code ib_umem_notifier_end_account}. */
  void invalidateEnd() {
    umemMutex.lock();
    try {
      notifiersSeq++;
      if (--notifiersCount == 0) {
        completion.completeAll();
      }
    } finally {
      umemMutex.unlock();
    }
  }

  /**
   * Kernel {@code ib_umem_notifier_release_trampoline}: at exit, counts an invalidation that never
   * ends, releases the waiters and zaps the whole region.
   */
  void releaseAccount() {
    umemMutex.lock();
    try {
      if (notifiersCount++ == 0) {
        completion = newCompletion();
      }
      completion.completeAll();
      reportEntered(start(), end());
      zapLocked(start(), end());
      reportReturned(start(), end(), 0);
    } finally {
      umemMutex.unlock();
    }
  }

  void completeAll() {
    umemMutex.lock();
    try {
      completion.completeAll();
    } finally {
      umemMutex.unlock();
    }
  }

  /** Kernel {@code ib_umem_mmu_notifier_retry}; caller holds {@code umemMutex}. */
  private boolean retryLocked(int seq) {
    return notifiersCount != 0 || notifiersSeq != seq;
  }

  @Override
  boolean pagefault(long page, boolean write) throws ErrnoException {
    int seq = notifiersSeq;
    dev.runtime().yieldPoint(mr + ": notifiers_seq read, before GUP");
    long pfn = gup(page, write);
    boolean again;
    umemMutex.lock(); // ib_umem_odp_map_dma_pages
    try {
      again = retryLocked(seq);
      if (!again) {
        mapDmaLocked(page, pfn, write);
      }
    } finally {
      umemMutex.unlock();
      putPage(pfn); // no reference is held after mapping
    }
    if (!again) {
      dev.runtime().yieldPoint(mr + ": page DMA-mapped, before the MTT update");
      umemMutex.lock(); // pagefault_real_mr
      try {
        again = retryLocked(seq);
        if (!again) {
          updateXltLocked(page);
        }
      } finally {
        umemMutex.unlock();
      }
    }
    if (again) {
      dev.liveness().waitFor(completion, MMU_NOTIFIER_TIMEOUT_NANOS);
    }
    return !again;
  }

  @Override
  void release() {
    unmapAll();
    perMm.remove(this);
    reportRemoved();
  }
}
