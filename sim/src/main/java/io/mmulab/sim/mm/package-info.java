/**
 * The simulated process address space: {@link io.mmulab.sim.mm.SimMachine} and its {@link
 * io.mmulab.sim.mm.SimProcess}es, VMAs, the CPU page table, the memory-management operations that
 * fire the kernel's invalidations, {@code getUserPages}, {@code hmmRangeFault}, migration, device
 * memory and the OOM reaper.
 */
@NullMarked
package io.mmulab.sim.mm;

import org.jspecify.annotations.NullMarked;
