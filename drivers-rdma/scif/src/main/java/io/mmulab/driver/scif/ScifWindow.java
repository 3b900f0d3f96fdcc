package io.mmulab.driver.scif;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.sim.scif.ScifDmaWindow;
import org.jspecify.annotations.Nullable;

/**
 * A temporary registered window (kernel {@code struct scif_window} of a {@code vreadfrom}/{@code
 * vwriteto} on a user address): a page-aligned range of the process, its pinned frames and, once
 * mapped, the card's DMA mapping of them.
 *
 * <p>{@code linked} is guarded by the cache's {@code tc_lock}; {@code pfns} and {@code dma} are set
 * once by the thread that registers the window, before it is linked or handed to the cleanup
 * worker.
 */
final class ScifWindow {
  final long va;
  final long end;
  final boolean writable;

  /** The checker's name of the subscription whose callback invalidates the window. */
  final String subscription;

  /** The pinned frames, one per page; null until pinned. */
  long @Nullable [] pfns;

  /** The card's mapping, set by {@link ScifSimRma#map}; null behind a test's hardware. */
  @Nullable ScifDmaWindow dma;

  /** The window's own interval notifier (consolidated only). */
  @Nullable MmuIntervalNotifier notifier;

  /** On the cache's list: a copy may still find it. */
  boolean linked;

  ScifWindow(long va, long end, boolean writable, String subscription) {
    this.va = va;
    this.end = end;
    this.writable = writable;
    this.subscription = subscription;
  }

  int nrPages() {
    return (int) ((end - va) / AddressSpace.PAGE_SIZE);
  }

  /** Whether the window serves a copy of {@code [start, stop)}, for write if {@code write}. */
  boolean covers(long start, long stop, boolean write) {
    return va <= start && stop <= end && (writable || !write);
  }

  boolean overlaps(long start, long stop) {
    return va < stop && start < end;
  }

  @Override
  public String toString() {
    return subscription
        + "[0x"
        + Long.toHexString(va)
        + ", 0x"
        + Long.toHexString(end)
        + (writable ? ") rw" : ") ro");
  }
}
