/**
 * Simulated physical memory: page frames with contents, reference and pin counts, generations,
 * poisoning on free and a shared zero page, reporting to the coherency checker.
 */
@NullMarked
package io.mmulab.sim.mem;

import org.jspecify.annotations.NullMarked;
