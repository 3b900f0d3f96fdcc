package io.mmulab.sim.check;

import org.jspecify.annotations.Nullable;

/** The checker's view of one physical frame: its current generation and whether it is freed. */
final class FrameMirror {
  /** Generation of a translation or IOMMU mapping made for a frame never reported. */
  static final long UNKNOWN_GENERATION = -1L;

  long generation;
  boolean freed;

  /** The event that allocated or freed it last. */
  long tick;

  /** Who allocated it, for messages; null if never reported allocated. */
  @Nullable String owner;
}
