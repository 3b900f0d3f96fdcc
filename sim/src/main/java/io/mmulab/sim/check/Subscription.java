package io.mmulab.sim.check;

import org.jspecify.annotations.Nullable;

/** One interval subscription of a device, and when its {@code remove()} returned. */
final class Subscription {
  final String name;

  /** Null for a subscription whose removal was reported but never its insertion. */
  final @Nullable String mm;

  final long start;
  final long end;
  boolean removed;
  long removedTick;

  Subscription(String name, @Nullable String mm, long start, long end) {
    this.name = name;
    this.mm = mm;
    this.start = start;
    this.end = end;
  }

  void markRemoved(long now) {
    if (!removed) {
      removed = true;
      removedTick = now;
    }
  }

  boolean covers(String otherMm, long va) {
    return mm != null
        && mm.equals(otherMm)
        && Long.compareUnsigned(start, va) <= 0
        && Long.compareUnsigned(va, end - 1) <= 0;
  }
}
