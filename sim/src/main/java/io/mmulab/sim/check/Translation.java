package io.mmulab.sim.check;

import static io.mmulab.sim.check.CoherencyChecker.PAGE_SHIFT;
import static io.mmulab.sim.check.Format.hex;

import org.jspecify.annotations.Nullable;

/**
 * What one {@code deviceMapped} recorded: a device entry from a page of an address space to a
 * frame, with the frame's generation then and the events that made, unmapped and invalidated it.
 */
final class Translation {
  final String mm;
  final long va;
  final long pfn;
  final long generation;
  final boolean writable;
  final long mappedTick;

  /** The subscription whose callback alone invalidates it, or null: any callback of the device. */
  final @Nullable String subscription;

  /** The event of the first callback that invalidated it, 0 if none did. */
  long invalidatedTick;

  /** The event that replaced or unmapped it, 0 while it is live. */
  long unmappedTick;

  Translation(
      String mm,
      long va,
      long pfn,
      long generation,
      boolean writable,
      long mappedTick,
      @Nullable String subscription) {
    this.mm = mm;
    this.subscription = subscription;
    this.va = va;
    this.pfn = pfn;
    this.generation = generation;
    this.writable = writable;
    this.mappedTick = mappedTick;
  }

  long vpn() {
    return va >>> PAGE_SHIFT;
  }

  /** Marks it invalidated by a callback of {@code by} (null: unnamed), if that one protects it. */
  void invalidate(long now, @Nullable String by) {
    if (invalidatedTick == 0 && (subscription == null || by == null || subscription.equals(by))) {
      invalidatedTick = now;
    }
  }

  @Override
  public String toString() {
    return hex(vpn() << PAGE_SHIFT)
        + "->pfn "
        + pfn
        + (writable ? " rw" : " ro")
        + " (mapped at #"
        + mappedTick
        + (unmappedTick == 0 ? "" : ", unmapped at #" + unmappedTick)
        + ")";
  }
}
