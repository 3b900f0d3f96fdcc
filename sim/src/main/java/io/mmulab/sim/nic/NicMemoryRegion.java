package io.mmulab.sim.nic;

import io.mmulab.sim.dev.DeviceMmu;

/**
 * A memory region a work request can name: an explicit region ({@link NicMr}) or an implicit one
 * covering the whole address space ({@link NicImplicitMr}). Its addresses are the process's virtual
 * addresses (an ODP region is not zero-based).
 */
public sealed interface NicMemoryRegion permits NicMr, NicImplicitMr {
  /**
   * Returns the region's key (mlx5 {@code mkey}), unique on its NIC.
   *
   * @return the key
   */
  int key();

  /**
   * Returns the first address covered.
   *
   * @return the start, page-aligned
   */
  long start();

  /**
   * Returns the exclusive end of the addresses covered.
   *
   * @return the end, page-aligned, unsigned ({@code -1}, {@code ULONG_MAX}, for an implicit region)
   */
  long end();

  /**
   * Tells whether the region was registered for remote and local writes.
   *
   * @return true for a writable region
   */
  boolean writable();

  /**
   * Returns the translation table and DMA path of the region: the checker device through which its
   * accesses are judged.
   *
   * @return the table
   */
  DeviceMmu mmu();

  /**
   * Tells whether {@code [va, va + bytes)} lies inside the region.
   *
   * @param va the first address
   * @param bytes how many bytes, at least 1
   * @return true if covered
   */
  default boolean covers(long va, long bytes) {
    long last = va + bytes - 1;
    return Long.compareUnsigned(va, start()) >= 0
        && Long.compareUnsigned(last, va) >= 0
        && Long.compareUnsigned(last, end()) < 0;
  }
}
