/**
 * The generic simulated device parts that driver families compose: {@link
 * io.mmulab.sim.dev.DeviceMmu} (a device page table with a TLB that only an explicit flush
 * invalidates, and the DMA accesses that go through it), {@link io.mmulab.sim.dev.IommuDomain} (the
 * frames a device may reach), {@link io.mmulab.sim.dev.FaultQueue} (replayable device page faults
 * delivered to the driver), {@link io.mmulab.sim.dev.DmaFence} and {@link
 * io.mmulab.sim.dev.FenceTimeline} (kernel {@code dma_fence}), and {@link
 * io.mmulab.sim.dev.DmaEngine} (a command ring of {@link io.mmulab.sim.dev.DmaJob}s drained by
 * engine threads).
 *
 * <p>Every part takes its locks, waits, threads and clock from the {@link
 * io.mmulab.api.sync.SyncRuntime} it is given, so it runs on real threads and under the
 * deterministic scheduler, and reports to the {@link io.mmulab.sim.check.CoherencyChecker} of its
 * {@link io.mmulab.sim.mem.PhysicalMemory}.
 */
@NullMarked
package io.mmulab.sim.dev;

import org.jspecify.annotations.NullMarked;
