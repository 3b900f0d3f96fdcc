package io.mmulab.api.hmm;

/**
 * The bit layout of {@code hmm_pfns} entries (kernel {@code include/linux/hmm.h}), which changed
 * across kernel versions: the high bits hold flags, then a 5-bit mapping order, then the pfn.
 *
 * <p>Fixed in every layout: bit 63 {@link #VALID} (input alias {@link #REQ_FAULT}), bit 62 {@link
 * #WRITE} (input alias {@link #REQ_WRITE}), bit 61 {@link #ERROR}. Layouts with sticky bits add
 * {@link #DMA_MAPPED}, {@link #P2PDMA} and {@link #P2PDMA_BUS} (bits 60–58), which are copied from
 * input to output untouched.
 *
 * @param orderShift the lowest bit of the 5-bit order field; every bit from here up is a flag
 * @param stickyBits whether the layout has the sticky bits
 */
public record HmmPfnLayout(int orderShift, boolean stickyBits) {
  /** Output: the pfn is valid and at least readable. */
  public static final long VALID = 1L << 63;

  /** Output: the mapping is writable (only together with {@link #VALID}). */
  public static final long WRITE = 1L << 62;

  /** Output: the page is inaccessible; a device access to it must fail. */
  public static final long ERROR = 1L << 61;

  /** Input: the page must be made valid, faulting it in if needed. */
  public static final long REQ_FAULT = VALID;

  /** Input: the page must be made writable (meaningful only with {@link #REQ_FAULT}). */
  public static final long REQ_WRITE = WRITE;

  /** Sticky: the entry is DMA-mapped by the driver (layouts with sticky bits). */
  public static final long DMA_MAPPED = 1L << 60;

  /** Sticky: peer-to-peer DMA page (layouts with sticky bits). */
  public static final long P2PDMA = 1L << 59;

  /** Sticky: peer-to-peer DMA through the bus address (layouts with sticky bits). */
  public static final long P2PDMA_BUS = 1L << 58;

  /** Width of the order field. */
  public static final int ORDER_BITS = 5;

  /** Current mainline (v6.15 and later): order at bit 53, sticky bits present. */
  public static final HmmPfnLayout MAINLINE = new HmmPfnLayout(53, true);

  /** v5.10 to v6.14: order at bit 56, no sticky bits. */
  public static final HmmPfnLayout V5_10 = new HmmPfnLayout(56, false);

  /**
   * Validates the layout.
   *
   * @throws IllegalArgumentException if the order field would overlap the flags in use
   */
  public HmmPfnLayout {
    int highestFree = stickyBits ? 58 : 61;
    if (orderShift < 32 || orderShift + ORDER_BITS > highestFree) {
      throw new IllegalArgumentException(
          "order shift "
              + orderShift
              + " overlaps the flag bits (sticky bits: "
              + stickyBits
              + ")");
    }
  }

  /**
   * Returns every flag bit: all bits from the order field up (kernel {@code HMM_PFN_FLAGS}).
   *
   * @return the mask of non-pfn bits
   */
  public long flagsMask() {
    return -1L << orderShift;
  }

  /**
   * Returns the sticky bits of this layout, 0 if it has none.
   *
   * @return the mask of bits copied from input to output
   */
  public long stickyMask() {
    return stickyBits ? DMA_MAPPED | P2PDMA | P2PDMA_BUS : 0;
  }

  /**
   * Returns the largest pfn an entry can hold.
   *
   * @return the pfn mask
   */
  public long pfnMask() {
    return ~flagsMask();
  }

  /**
   * Extracts the pfn of an output entry.
   *
   * @param entry an output entry
   * @return its pfn
   */
  public long pfn(long entry) {
    return entry & pfnMask();
  }

  /**
   * Extracts the mapping order of an output entry (0 for a base page, 9 for a 2 MiB mapping).
   *
   * @param entry an output entry
   * @return log2 of the number of base pages in the CPU mapping
   */
  public int order(long entry) {
    return (int) ((entry >>> orderShift) & ((1 << ORDER_BITS) - 1));
  }

  /**
   * Builds an output entry.
   *
   * @param pfn the frame
   * @param flags {@link #VALID}, {@link #WRITE}, {@link #ERROR} or sticky bits
   * @param order the mapping order, 0 to 31
   * @return the entry
   * @throws IllegalArgumentException if the pfn or order does not fit
   */
  public long encode(long pfn, long flags, int order) {
    if ((pfn & flagsMask()) != 0) {
      throw new IllegalArgumentException(
          "pfn 0x" + Long.toHexString(pfn) + " does not fit " + this);
    }
    if (order < 0 || order >= 1 << ORDER_BITS) {
      throw new IllegalArgumentException(
          "order " + order + " does not fit " + ORDER_BITS + " bits");
    }
    return pfn | ((long) order << orderShift) | flags;
  }
}
