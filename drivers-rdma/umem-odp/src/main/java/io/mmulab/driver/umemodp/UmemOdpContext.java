package io.mmulab.driver.umemodp;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.MmuNotifierFactory;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;

/**
 * What a umem needs from its device context: {@link Mlx5Odp} on the simulated NIC (which reports to
 * the coherency checker), or the minimal hardware of the Lincheck test.
 */
interface UmemOdpContext {
  AddressSpace mm();

  SyncRuntime runtime();

  DriverStats stats();

  UmemOdpLiveness liveness();

  /** Tells the coherency checker a notifier of {@code deviceId} covers {@code [start, end)}. */
  void subscribed(String deviceId, String subscription, long start, long end);

  /** Tells the coherency checker the notifier is gone. */
  void unsubscribed(String deviceId, String subscription);

  /** Tells the coherency checker a callback of the notifier starts on {@code [start, end)}. */
  void callbackEntered(String deviceId, String subscription, long start, long end);

  /** Tells the coherency checker the callback zapped {@code [start, end)} and returns. */
  void callbackReturned(String deviceId, String subscription, long start, long end, long seq);

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
