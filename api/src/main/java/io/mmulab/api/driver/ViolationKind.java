package io.mmulab.api.driver;

/**
 * What rule a finding broke. The first five are the coherency checker's, each listing the events
 * that can report it; the last two are the scheduler's: a run that cannot go on is a finding like a
 * bad access, and a variant can declare it as a race.
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
  ISOLATION,
  /**
   * The deterministic scheduler found no thread that could run and none that a timeout would wake:
   * a cycle of waits (each thread waits for a lock or event that another waiting thread holds or
   * would signal). The finding names every waiter, what it waits for and what it holds.
   */
  DEADLOCK,
  /**
   * The run took more scheduling points than its budget without finishing: threads keep running
   * (retrying, spinning) but the program makes no progress.
   */
  LIVELOCK
}
