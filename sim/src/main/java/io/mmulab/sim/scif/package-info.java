/**
 * The simulated SCIF hardware the SCIF driver port drives (Intel MIC, removed from the kernel in
 * 5.10): {@link io.mmulab.sim.scif.SimScif}, one endpoint's view of the card — a {@link
 * io.mmulab.sim.scif.ScifDmaChannel} (a descriptor queue served by an engine thread, with drain and
 * completion interrupts), a {@link io.mmulab.sim.scif.ScifPeerWindow} (the peer's registered
 * window, the other end of every copy) and the temporary registered windows ({@link
 * io.mmulab.sim.scif.ScifDmaWindow}: pinned, DMA-mapped user pages). Every DMA access to a window
 * page goes through {@link io.mmulab.sim.mem.PhysicalMemory}'s device accessors, so the coherency
 * checker judges it; destroying a window the channel still has descriptors for throws. See the
 * "SCIF" section of the module README.
 */
@NullMarked
package io.mmulab.sim.scif;

import org.jspecify.annotations.NullMarked;
