package io.mmulab.api.driver;

/** Which version of a driver's invalidation tracking a port reproduces. */
public enum DriverVariant {
  /** The driver's own pattern before the 5.5 consolidation, with the races it really had. */
  LEGACY,
  /** The interval-notifier collision-retry pattern; must be free of violations. */
  CONSOLIDATED,
  /** What the kernel actually merged where that kept a known race (declared). */
  AS_MERGED
}
