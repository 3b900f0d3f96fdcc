package io.mmulab.api.sync;

/** Time as the runtime sees it: wall time for real threads, virtual time when deterministic. */
public interface Clock {
  /**
   * Returns the current time in nanoseconds from an arbitrary origin.
   *
   * @return the time, monotonic
   */
  long nanoTime();

  /**
   * Sleeps for at least {@code nanos} (kernel {@code msleep}, {@code usleep_range}).
   *
   * @param nanos how long, not negative
   * @throws IllegalArgumentException if {@code nanos} is negative
   */
  void sleep(long nanos);
}
