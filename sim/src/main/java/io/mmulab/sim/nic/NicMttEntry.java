package io.mmulab.sim.nic;

/**
 * One entry of a memory region's translation table, as a UMR wrote it.
 *
 * @param dmaAddress the DMA address of the page (see {@link SimNic#dmaMap})
 * @param writable whether the NIC may write through it (reads are always allowed)
 */
public record NicMttEntry(long dmaAddress, boolean writable) {}
