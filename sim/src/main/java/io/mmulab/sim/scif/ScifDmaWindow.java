package io.mmulab.sim.scif;

import io.mmulab.sim.mem.PhysicalMemory;

/**
 * A temporary registered window as the card sees it: the pinned frames of {@code nrPages} user
 * pages from {@code va}, DMA-mapped for one endpoint. Made by {@link SimScif#mapWindow}, destroyed
 * (unmapped and unpinned) by {@link SimScif#destroyWindow} once no descriptor of the channel refers
 * to it.
 *
 * <p>{@code outstanding} and {@code destroyed} are guarded by the channel's lock.
 */
public final class ScifDmaWindow {
  private final String mm;
  private final long va;
  private final long[] pfns;
  private final boolean writable;
  private final String subscription;

  /** Descriptors queued or running that refer to this window. */
  int outstanding;

  boolean destroyed;

  ScifDmaWindow(String mm, long va, long[] pfns, boolean writable, String subscription) {
    this.mm = mm;
    this.va = va;
    this.pfns = pfns.clone();
    this.writable = writable;
    this.subscription = subscription;
  }

  /**
   * Returns the address space the pages belong to, as the checker names it.
   *
   * @return the address space's name
   */
  public String mm() {
    return mm;
  }

  /**
   * Returns the first address.
   *
   * @return the page-aligned start
   */
  public long va() {
    return va;
  }

  /**
   * Returns the exclusive end.
   *
   * @return {@code va() + nrPages() * PAGE_SIZE}
   */
  public long end() {
    return va + ((long) pfns.length << PhysicalMemory.PAGE_SHIFT);
  }

  /**
   * Returns the number of pages.
   *
   * @return at least 1
   */
  public int nrPages() {
    return pfns.length;
  }

  /**
   * Returns whether the device may write the pages (the window was pinned for write).
   *
   * @return the window's write permission
   */
  public boolean writable() {
    return writable;
  }

  /**
   * Returns the checker's name of the subscription whose callback invalidates the window.
   *
   * @return the name, or null for any of the device's subscriptions
   */
  public String subscription() {
    return subscription;
  }

  /**
   * Returns the pinned frame behind {@code addr}.
   *
   * @param addr an address in the window
   * @return its frame
   * @throws IllegalArgumentException if {@code addr} is outside the window
   */
  public long pfnAt(long addr) {
    if (Long.compareUnsigned(addr - va, end() - va) >= 0) {
      throw new IllegalArgumentException(
          "0x" + Long.toHexString(addr) + " is outside window " + this);
    }
    return pfns[(int) ((addr - va) >>> PhysicalMemory.PAGE_SHIFT)];
  }

  long[] pfns() {
    return pfns;
  }

  @Override
  public String toString() {
    return "window[0x"
        + Long.toHexString(va)
        + ", 0x"
        + Long.toHexString(end())
        + (writable ? ") rw" : ") ro");
  }
}
