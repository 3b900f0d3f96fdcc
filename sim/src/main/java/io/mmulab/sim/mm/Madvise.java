package io.mmulab.sim.mm;

/** The advice values of {@link SimProcess#madvise}. */
public enum Madvise {
  /**
   * {@code MADV_DONTNEED}: drop the pages now; the next access faults in zero-filled anonymous
   * memory or the file's contents again.
   */
  DONTNEED,
  /**
   * {@code MADV_FREE} (anonymous private memory only): the pages may be discarded by reclaim unless
   * written again first; swapped-out pages are dropped at once.
   */
  FREE,
  /**
   * {@code MADV_HUGEPAGE}: aligned 2 MiB blocks of the range get transparent huge pages from now on
   * (the VMA part gets {@link Mman#MAP_HUGE}); no page-table change, no invalidation.
   */
  HUGEPAGE,
  /**
   * {@code MADV_NOHUGEPAGE}: no transparent huge pages for the range any more, and {@code
   * MADV_COLLAPSE} refuses it; existing huge mappings stay.
   */
  NOHUGEPAGE,
  /**
   * {@code MADV_COLLAPSE} (private anonymous memory): every aligned 2 MiB block inside the range is
   * collapsed into a huge page now, synchronously, whatever the huge-page hint.
   */
  COLLAPSE
}
