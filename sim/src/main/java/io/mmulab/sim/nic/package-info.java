/**
 * The simulated RDMA NIC of the RDMA drivers (on-demand paging, and later the registration caches):
 * {@link io.mmulab.sim.nic.SimNic} with its memory regions ({@link io.mmulab.sim.nic.NicMr}, {@link
 * io.mmulab.sim.nic.NicImplicitMr}), whose translation tables (mlx5's MTT) the driver updates with
 * synchronous UMR operations; work requests ({@link io.mmulab.sim.nic.NicWorkRequest}, RDMA READ
 * and WRITE) that the NIC's DMA engine executes through those tables, so that a stale entry is a
 * coherency-checker violation; page-fault events ({@link io.mmulab.sim.nic.NicPageFault}) answered
 * resume or abort while the queue pair stalls; DMA mapping through the NIC's IOMMU domain.
 *
 * <p>Built from the generic parts of {@link io.mmulab.sim.dev}: each memory region's table is a
 * {@link io.mmulab.sim.dev.DeviceMmu} (one checker device per region), the queue pair a {@link
 * io.mmulab.sim.dev.DmaEngine} with one engine thread, the fault events a {@link
 * io.mmulab.sim.dev.FaultQueue}.
 */
@NullMarked
package io.mmulab.sim.nic;

import org.jspecify.annotations.NullMarked;
