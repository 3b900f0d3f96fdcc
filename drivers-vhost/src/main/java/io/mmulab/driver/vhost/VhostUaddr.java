package io.mmulab.driver.vhost;

import io.mmulab.api.AddressSpace;

/**
 * Where one ring lives in the VMM's memory (kernel {@code struct vhost_uaddr}): {@code [start,
 * end)}, 8-byte aligned. A direct map of the ring covers the pages it spans.
 *
 * @param start first byte
 * @param end exclusive end
 */
public record VhostUaddr(long start, long end) {
  /**
   * Validates the range.
   *
   * @throws IllegalArgumentException if an end is not 8-byte aligned or the range is empty
   */
  public VhostUaddr {
    if ((start & 7) != 0 || (end & 7) != 0 || Long.compareUnsigned(start, end) >= 0) {
      throw new IllegalArgumentException(
          "ring [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ") is invalid");
    }
  }

  /** The first page the ring touches. */
  long pageStart() {
    return start & -AddressSpace.PAGE_SIZE;
  }

  /** The exclusive end of the last page the ring touches. */
  long pageEnd() {
    return ((end - 1) & -AddressSpace.PAGE_SIZE) + AddressSpace.PAGE_SIZE;
  }

  int pages() {
    return (int) ((pageEnd() - pageStart()) >>> AddressSpace.PAGE_SHIFT);
  }

  boolean contains(long va) {
    return Long.compareUnsigned(start, va) <= 0 && Long.compareUnsigned(va, end) < 0;
  }

  /** Kernel {@code vhost_map_range_overlap}: whether {@code [s, e)} touches the ring. */
  boolean overlaps(long s, long e) {
    return Long.compareUnsigned(s, end) < 0 && Long.compareUnsigned(start, e) < 0;
  }

  @Override
  public String toString() {
    return "[0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ")";
  }
}
