package io.mmulab.driver.umemodp;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.MmuNotifierFactory;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.driver.DriverStats;

/**
 * What a umem needs from its device context: {@link Mlx5Odp} on the simulated NIC, or the minimal
 * hardware of the Lincheck test.
 */
interface UmemOdpContext {
  AddressSpace mm();

  SyncRuntime runtime();

  DriverStats stats();

  UmemOdpLiveness liveness();

  CoherencyChecker checker();

  /** Kernel {@code ib_dma_map_page}: returns the page's DMA address. */
  long dmaMap(long pfn);

  /** Kernel {@code ib_dma_unmap_page}. */
  void dmaUnmap(long dmaAddress);

  /** Returns the DMA address {@link #dmaMap} gives {@code pfn}. */
  long dmaAddress(long pfn);

  /** Kernel {@code put_page}: drops a reference GUP took. */
  void putPage(long pfn);

  /** The allocator the legacy umems find their per-mm context by ({@code mmu_notifier_get}). */
  MmuNotifierFactory<UmemOdpPerMm> perMmFactory();
}
