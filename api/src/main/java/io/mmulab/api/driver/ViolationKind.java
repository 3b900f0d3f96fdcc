package io.mmulab.api.driver;

/**
 * What rule a violation the coherency checker reports broke. Each constant lists the events that
 * can report it.
 */
public enum ViolationKind {
  /**
   * A device used a translation that is no longer valid: one obtained before an intersecting
   * invalidate callback returned, or one whose frame the CPU page table no longer maps for that
   * address (including a translation made after the callback from a stale page lookup, and a live
   * translation the CPU page table moved away from without any invalidation reaching the device).
   * For a registration cache: a new operation using an invalidated entry, or an entry the CPU page
   * table had already moved away from when the operation began.
   */
  STALE_USE,
  /**
   * A device wrote through a translation, or a CPU page-table entry, that is not writable; or a
   * writable device translation was made while the CPU entry was read-only; or a CPU entry lost
   * write permission while a device kept a writable translation no invalidation reached.
   */
  PERMISSION,
  /**
   * An invalidate callback after its subscription was removed, or any event for a device after it
   * was torn down, or a device access to an address whose subscriptions were all removed.
   */
  LIFETIME,
  /**
   * An access to a frame that is freed, or to a reallocated frame through a translation (or an
   * IOMMU mapping) made for an earlier generation of it.
   */
  USE_AFTER_FREE,
  /** A device that has an IOMMU domain accessed a frame that is not mapped in it. */
  ISOLATION
}
