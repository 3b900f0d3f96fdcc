package io.mmulab.sim.check;

/**
 * The checker's copy of one CPU page-table entry.
 *
 * @param pfn the frame, or {@link CoherencyChecker#NO_PFN} if not present
 * @param writable whether it allows writes (false when not present)
 * @param tick the event that set it
 */
record CpuPte(long pfn, boolean writable, long tick) {}
