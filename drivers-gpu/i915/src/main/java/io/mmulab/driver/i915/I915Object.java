package io.mmulab.driver.i915;

import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.sim.gpu.GpuBo;
import org.jspecify.annotations.Nullable;

/**
 * One userptr GEM object (kernel {@code struct drm_i915_gem_object} with its {@code userptr} part):
 * one user page, GPU VA == user VA, backed by a {@link GpuBo} on the simulated GPU (none under a
 * fake {@link I915Hardware}). The adapter creates one object per page a device verb touches, so
 * objects never overlap inside the GPU VM.
 *
 * <p>Legacy fields ({@link #active}) are guarded by the tree's spin lock ({@link
 * I915LegacyUserptr}); {@link #writable} and the pages by {@code struct_mutex}. The consolidated
 * fields ({@link #notifier}) are set once at creation.
 */
final class I915Object {
  final String name;
  final long start;
  private final long end;

  /** The simulated BO; null when the hardware is not the simulated GPU. */
  final GpuBo bo;

  /** Consolidated: the object's own interval notifier (kernel {@code obj->userptr.notifier}). */
  @Nullable MmuIntervalNotifier notifier;

  /** Legacy: the object is in the mm's private interval tree (kernel {@code mo->attached}). */
  boolean active;

  /** Whether the pages the object holds were pinned for write. */
  boolean writable;

  I915Object(GpuBo bo) {
    this(bo.name(), bo.start(), bo.end(), bo);
  }

  I915Object(String name, long start, long end, GpuBo bo) {
    this.name = name;
    this.start = start;
    this.end = end;
    this.bo = bo;
  }

  long end() {
    return end;
  }

  /** Whether the object overlaps {@code [rangeStart, rangeEnd)}; {@code -1} is ULONG_MAX. */
  boolean intersects(long rangeStart, long rangeEnd) {
    return Long.compareUnsigned(start, rangeEnd) < 0 && Long.compareUnsigned(end(), rangeStart) > 0;
  }

  @Override
  public String toString() {
    return name;
  }
}
