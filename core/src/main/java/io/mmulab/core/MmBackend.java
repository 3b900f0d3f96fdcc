package io.mmulab.core;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.hmm.HmmRange;

/**
 * What gives an {@link MmStruct} its mappings: the page-table walks behind {@code getUserPages} and
 * {@code hmmRangeFault}, and the teardown at exit. The sim module supplies one with VMAs and page
 * tables; {@link EmptyMmBackend} is an address space with no mappings at all.
 *
 * <p>{@link MmStruct} checks the common preconditions (mmap lock held, argument shapes) before
 * calling in, so implementations handle only the walk.
 */
public interface MmBackend {
  /**
   * The walk behind {@link MmStruct#getUserPages}; arguments are already validated and the mmap
   * lock is held.
   *
   * @param start first address, page-aligned
   * @param nrPages at least 1
   * @param gupFlags valid {@link io.mmulab.api.Gup} flags
   * @param pfns at least {@code nrPages} long
   * @return pages got, at least 1
   * @throws ErrnoException as {@link io.mmulab.api.AddressSpace#getUserPages}
   */
  int getUserPages(long start, int nrPages, int gupFlags, long[] pfns) throws ErrnoException;

  /**
   * The walk behind {@link MmStruct#hmmRangeFault}; the range belongs to this address space and the
   * mmap lock is held.
   *
   * @param range the request
   * @throws ErrnoException as {@link io.mmulab.api.AddressSpace#hmmRangeFault}
   */
  void hmmRangeFault(HmmRange range) throws ErrnoException;

  /**
   * Kernel {@code exit_mmap}, run when the last user reference is dropped: must call {@link
   * MmStruct#mmuNotifierRelease()} first, then tear down every mapping (with UNMAP invalidations).
   */
  void exitMmap();
}
