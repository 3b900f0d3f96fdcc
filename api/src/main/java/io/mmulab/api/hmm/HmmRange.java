package io.mmulab.api.hmm;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.MmuIntervalNotifier;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A request to {@link AddressSpace#hmmRangeFault} (kernel {@code struct hmm_range}): which pages,
 * under which interval subscription and sequence value, with which per-page requests, and where the
 * results go.
 *
 * <p>{@link #hmmPfns()} is both input and output: on entry each element holds request flags
 * (honoured only where {@link #pfnFlagsMask()} allows, plus {@link #defaultFlags()} for every
 * page), on successful return the pfn and output flags in {@link #layout()}. A driver typically
 * keeps one range and calls {@link #setNotifierSeq} with a fresh {@code readBegin} value on each
 * retry. Not thread-safe.
 */
public final class HmmRange {
  private final MmuIntervalNotifier notifier;
  private final long start;
  private final long end;
  private final long[] hmmPfns;
  private final long defaultFlags;
  private final long pfnFlagsMask;
  private final @Nullable Object devPrivateOwner;
  private final HmmPfnLayout layout;
  private long notifierSeq;

  /**
   * Creates a request.
   *
   * @param notifier the subscription covering {@code [start, end)}
   * @param notifierSeq the value {@link MmuIntervalNotifier#readBegin} returned
   * @param start first address, page-aligned
   * @param end exclusive end, page-aligned, above {@code start}
   * @param hmmPfns one entry per page, {@code (end - start) / PAGE_SIZE} long
   * @param defaultFlags request flags applied to every page
   * @param pfnFlagsMask which bits of each input entry are honoured as requests
   * @param devPrivateOwner device-private pages with this owner are reported, never faulted; may be
   *     null
   * @param layout the bit layout of entries
   * @throws IllegalArgumentException if the bounds are unaligned or empty, or the array length does
   *     not match
   */
  public HmmRange(
      MmuIntervalNotifier notifier,
      long notifierSeq,
      long start,
      long end,
      long[] hmmPfns,
      long defaultFlags,
      long pfnFlagsMask,
      @Nullable Object devPrivateOwner,
      HmmPfnLayout layout) {
    this.notifier = Objects.requireNonNull(notifier, "notifier is null");
    this.hmmPfns = Objects.requireNonNull(hmmPfns, "hmmPfns is null");
    this.layout = Objects.requireNonNull(layout, "layout is null");
    if ((start & (AddressSpace.PAGE_SIZE - 1)) != 0 || (end & (AddressSpace.PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "range [0x"
              + Long.toHexString(start)
              + ", 0x"
              + Long.toHexString(end)
              + ") not page-aligned");
    }
    if (Long.compareUnsigned(start, end) >= 0) {
      throw new IllegalArgumentException(
          "range start 0x" + Long.toHexString(start) + " not below end 0x" + Long.toHexString(end));
    }
    long pages = (end - start) >>> AddressSpace.PAGE_SHIFT;
    if (pages != hmmPfns.length) {
      throw new IllegalArgumentException(
          "hmmPfns has " + hmmPfns.length + " entries for " + pages + " pages");
    }
    this.notifierSeq = notifierSeq;
    this.start = start;
    this.end = end;
    this.defaultFlags = defaultFlags;
    this.pfnFlagsMask = pfnFlagsMask;
    this.devPrivateOwner = devPrivateOwner;
  }

  /**
   * Returns the subscription covering the range.
   *
   * @return the notifier
   */
  public MmuIntervalNotifier notifier() {
    return notifier;
  }

  /**
   * Returns the sequence value the walk is checked against.
   *
   * @return the value from {@code readBegin}
   */
  public long notifierSeq() {
    return notifierSeq;
  }

  /**
   * Sets the sequence value for the next walk (after a fresh {@code readBegin}).
   *
   * @param seq the value {@code readBegin} returned
   */
  public void setNotifierSeq(long seq) {
    this.notifierSeq = seq;
  }

  /**
   * Returns the first address.
   *
   * @return the page-aligned start
   */
  public long start() {
    return start;
  }

  /**
   * Returns the exclusive end.
   *
   * @return the page-aligned end
   */
  public long end() {
    return end;
  }

  /**
   * Returns the in/out array, one entry per page (not a copy).
   *
   * @return the entries
   */
  public long[] hmmPfns() {
    return hmmPfns;
  }

  /**
   * Returns the request flags applied to every page.
   *
   * @return the default flags
   */
  public long defaultFlags() {
    return defaultFlags;
  }

  /**
   * Returns which input bits of each entry are honoured as requests.
   *
   * @return the mask
   */
  public long pfnFlagsMask() {
    return pfnFlagsMask;
  }

  /**
   * Returns the owner whose device-private pages are reported rather than faulted.
   *
   * @return the owner, or null
   */
  public @Nullable Object devPrivateOwner() {
    return devPrivateOwner;
  }

  /**
   * Returns the entry layout.
   *
   * @return the layout
   */
  public HmmPfnLayout layout() {
    return layout;
  }

  /**
   * Returns the effective request of page {@code i}: {@code (hmmPfns[i] & pfnFlagsMask) |
   * defaultFlags}, restricted to the request bits (sticky bits are not requests).
   *
   * @param i page index
   * @return {@link HmmPfnLayout#REQ_FAULT} and/or {@link HmmPfnLayout#REQ_WRITE}, or 0
   */
  public long request(int i) {
    return ((hmmPfns[i] & pfnFlagsMask) | defaultFlags)
        & (HmmPfnLayout.REQ_FAULT | HmmPfnLayout.REQ_WRITE);
  }
}
