package io.mmulab.driver.umemodp;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.sync.Mutex;
import java.util.Arrays;

/**
 * Kernel {@code struct ib_umem_odp}, the part both variants share: the region's range, {@code
 * umem_mutex}, the DMA list, and the mlx5 steps every path uses (the fault's GUP and MTT update,
 * the invalidation's zap and DMA unmap). A variant adds how invalidations and faults are kept apart
 * ({@link UmemOdpLegacyUmem}, {@link UmemOdpConsolidatedUmem}).
 *
 * <p>Locking: {@code umemMutex} guards {@code dmaList}, {@code dmaWritable} and every UMR of the
 * region's entries. The NIC holds no page reference: a page's reference is dropped right after it
 * was DMA-mapped, so the invalidate path must zap the entry and unmap the page before the CPU can
 * free it (the shadow-PTE model).
 */
abstract class UmemOdpUmem {
  private static final long NO_DMA = -1;

  final UmemOdpContext dev;
  final UmemOdpMtt mr;
  final Mutex umemMutex;
  final String subscription;
  private final long[] dmaList; // guarded by umemMutex; page index -> DMA address or NO_DMA
  private final boolean[] dmaWritable; // guarded by umemMutex

  UmemOdpUmem(UmemOdpContext dev, UmemOdpMtt mr) {
    this.dev = dev;
    this.mr = mr;
    this.subscription = mr.subscription() != null ? mr.subscription() : "umem_odp";
    this.umemMutex = dev.runtime().newMutex(mr.deviceId() + "." + subscription + ".umem_mutex");
    this.dmaList = new long[(int) ((mr.end() - mr.start()) >>> AddressSpace.PAGE_SHIFT)];
    this.dmaWritable = new boolean[dmaList.length];
    Arrays.fill(dmaList, NO_DMA);
  }

  long start() {
    return mr.start();
  }

  long end() {
    return mr.end();
  }

  boolean intersects(long from, long to) {
    return Long.compareUnsigned(from, end()) < 0 && Long.compareUnsigned(to, start()) > 0;
  }

  /**
   * Resolves a NIC page fault on one page of the region (kernel {@code pagefault_real_mr}).
   *
   * @param page the page-aligned address
   * @param write whether the NIC wants to write
   * @return true if the MTT entry was written; false for {@code -EAGAIN} (an invalidation
   *     collided): the NIC is resumed and faults again
   * @throws ErrnoException {@code EFAULT} if the page cannot be got (the fault is aborted)
   */
  abstract boolean pagefault(long page, boolean write) throws ErrnoException;

  /**
   * Kernel {@code ib_umem_odp_release}: drops the DMA mappings and the region's notifier;
   * afterwards no callback touches the region.
   */
  abstract void release();

  // ---------------------------------------------------------------------------------------------
  // The steps both variants share

  /**
   * GUP of one page with a reference (kernel {@code get_user_pages_remote} on the owning mm), under
   * the mmap lock and a user reference.
   *
   * @return the frame, referenced: the caller drops it with {@link #putPage}
   */
  long gup(long page, boolean write) throws ErrnoException {
    AddressSpace mm = dev.mm();
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, mm.name() + " has exited");
    }
    try {
      long[] pfn = new long[1];
      mm.mmapLock().downRead();
      try {
        mm.getUserPages(page, 1, write ? Gup.FOLL_WRITE : 0, pfn);
      } finally {
        mm.mmapLock().upRead();
      }
      return pfn[0];
    } finally {
      mm.mmput();
    }
  }

  void putPage(long pfn) {
    dev.putPage(pfn);
  }

  /**
   * Kernel {@code ib_umem_odp_map_dma_single_page}: records the page's DMA mapping, mapping it
   * unless it already is. Caller holds {@code umemMutex}.
   *
   * @throws ErrnoException {@code EFAULT} if the entry holds another page (the kernel's "different
   *     pages" error; only a missed invalidation leaves one)
   */
  void mapDmaLocked(long page, long pfn, boolean write) throws ErrnoException {
    requireUmemMutex("DMA-maps a page");
    int i = index(page);
    if (dmaList[i] == NO_DMA) {
      dmaList[i] = dev.dmaMap(pfn);
    } else if (dmaList[i] != dev.dmaAddress(pfn)) {
      throw new ErrnoException(
          Errno.EFAULT, mr + ": got a different page at 0x" + Long.toHexString(page));
    }
    dmaWritable[i] |= write;
  }

  /**
   * Kernel {@code mlx5_ib_update_xlt} for one page: writes the MTT entry from the DMA list. Caller
   * holds {@code umemMutex}; the page was mapped by {@link #mapDmaLocked}.
   */
  void updateXltLocked(long page) {
    requireUmemMutex("updates the MTT");
    int i = index(page);
    mr.umrUpdate(page, dmaList[i], dmaWritable[i]);
    dev.stats().fault();
  }

  /**
   * Kernel {@code mlx5_ib_invalidate_range}: zaps the MTT entries of {@code [from, to)} (a UMR, so
   * no NIC access uses them afterwards) and unmaps their pages. Caller holds {@code umemMutex}.
   */
  void zapLocked(long from, long to) {
    requireUmemMutex("zaps the MTT");
    mr.umrZap(from, to);
    long lo = Long.compareUnsigned(from, start()) < 0 ? start() : from;
    long hi = Long.compareUnsigned(to, end()) > 0 ? end() : to;
    for (long p = lo; Long.compareUnsigned(p, hi) < 0; p += AddressSpace.PAGE_SIZE) {
      int i = index(p);
      if (dmaList[i] != NO_DMA) {
        dev.dmaUnmap(dmaList[i]);
        dmaList[i] = NO_DMA;
        dmaWritable[i] = false;
      }
    }
  }

  /** Zaps the whole region under {@code umemMutex}: the first step of every release. */
  void unmapAll() {
    umemMutex.lock();
    try {
      zapLocked(start(), end());
    } finally {
      umemMutex.unlock();
    }
  }

  /** The rule of this class: every MTT and DMA-list change happens under {@code umem_mutex}. */
  private void requireUmemMutex(String what) {
    if (!umemMutex.isHeldByCurrentThread()) {
      throw new IllegalStateException(
          Thread.currentThread().getName() + " " + what + " of " + this + " without umem_mutex");
    }
  }

  private int index(long page) {
    return (int) ((page - start()) >>> AddressSpace.PAGE_SHIFT);
  }

  // ---------------------------------------------------------------------------------------------
  // Checker reports: the region's table is the device, this umem's notifier its subscription

  void reportInserted() {
    dev.subscribed(mr.deviceId(), subscription, start(), end());
  }

  void reportRemoved() {
    dev.unsubscribed(mr.deviceId(), subscription);
  }

  void reportEntered(long from, long to) {
    dev.callbackEntered(mr.deviceId(), subscription, from, to);
  }

  void reportReturned(long from, long to, long seq) {
    dev.callbackReturned(mr.deviceId(), subscription, from, to, seq);
  }

  @Override
  public String toString() {
    return "umem " + subscription + " of " + mr;
  }
}
