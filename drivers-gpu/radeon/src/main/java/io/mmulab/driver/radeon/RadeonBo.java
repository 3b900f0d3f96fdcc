package io.mmulab.driver.radeon;

import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.sync.Mutex;
import org.jspecify.annotations.Nullable;

/**
 * A userptr BO ({@code struct radeon_bo} created by {@code RADEON_GEM_USERPTR}): its range, its
 * reservation (the TTM {@code ww_mutex}, here a plain mutex), in the interval-notifier variants the
 * BO's own subscription ({@code bo->notifier}), and the hardware part the {@link RadeonGart} owns.
 */
final class RadeonBo {
  final String name;
  private final long start;
  private final long size;
  private final RadeonGart gart;

  /** The device's own part of the BO (the simulated {@code GpuBo}); opaque to the protocols. */
  final Object hw;

  /**
   * The BO reservation ({@code radeon_bo_reserve}). Guards binding, eviction and {@link #writable}.
   * In {@link RadeonConsolidated} it is also the update lock of {@link #notifier}.
   */
  final Mutex reserve;

  /** Interval-notifier variants only: the BO's subscription; null in the legacy variant. */
  @Nullable MmuIntervalNotifier notifier;

  /** Whether the current binding is writable; guarded by {@link #reserve}. */
  boolean writable;

  RadeonBo(String name, long start, long size, Mutex reserve, RadeonGart gart, Object hw) {
    this.name = name;
    this.start = start;
    this.size = size;
    this.reserve = reserve;
    this.gart = gart;
    this.hw = hw;
  }

  long start() {
    return start;
  }

  long size() {
    return size;
  }

  long end() {
    return start + size;
  }

  /** Whether the BO is bound in the GART ({@code ttm->state == tt_bound}); lockless peek. */
  boolean bound() {
    return gart.bound(this);
  }

  @Override
  public String toString() {
    return name;
  }
}
