package io.mmulab.sim.mm;

/** The advice values of {@link SimProcess#madvise} that change page tables. */
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
  FREE
}
