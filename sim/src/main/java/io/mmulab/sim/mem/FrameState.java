package io.mmulab.sim.mem;

/** The life state of a page frame in {@link PhysicalMemory}. */
public enum FrameState {
  /** Handed out by {@link PhysicalMemory#alloc} and holding at least one reference. */
  ALLOCATED,
  /**
   * Its last reference was dropped: contents poisoned, every access reported as a use-after-free
   * until the pfn is allocated again (with a higher generation).
   */
  FREED
}
