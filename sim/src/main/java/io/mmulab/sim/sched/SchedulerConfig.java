package io.mmulab.sim.sched;

import java.util.Objects;

/**
 * What a deterministic run is parameterised by. A run is fully determined by its config (the seed
 * drives the random schedule and every fault decision) and, when replaying, by the recorded choice
 * list.
 *
 * @param seed seed of the random schedule and of the fault streams
 * @param maxSteps the livelock budget: a run that takes more scheduling points ends as {@link
 *     Outcome#LIVELOCK}; positive
 * @param nanosPerStep virtual nanoseconds added to the clock at every scheduling point, so that
 *     timeouts also fire in busy loops; not negative (0: time only moves when every thread sleeps)
 * @param faults the fault-injection knobs
 * @param threads the kind of Java thread that carries each simulated thread; it changes the speed
 *     of a run, never its schedule, trace or verdict
 */
public record SchedulerConfig(
    long seed, int maxSteps, long nanosPerStep, FaultPlan faults, ThreadKind threads) {
  /** Default livelock budget. */
  public static final int DEFAULT_MAX_STEPS = 100_000;

  /** Default virtual time per scheduling point: one microsecond. */
  public static final long DEFAULT_NANOS_PER_STEP = 1_000;

  /**
   * Validates the values.
   *
   * @throws IllegalArgumentException naming a non-positive {@code maxSteps} or negative {@code
   *     nanosPerStep}
   * @throws NullPointerException if {@code faults} or {@code threads} is null
   */
  public SchedulerConfig {
    if (maxSteps <= 0) {
      throw new IllegalArgumentException("maxSteps must be positive: " + maxSteps);
    }
    if (nanosPerStep < 0) {
      throw new IllegalArgumentException("nanosPerStep must not be negative: " + nanosPerStep);
    }
    Objects.requireNonNull(faults, "faults is null");
    Objects.requireNonNull(threads, "threads is null");
  }

  /**
   * A config on the {@link ThreadKind#selected() selected} kind of thread.
   *
   * @param seed seed of the random schedule and of the fault streams
   * @param maxSteps the livelock budget; positive
   * @param nanosPerStep virtual nanoseconds per scheduling point; not negative
   * @param faults the fault-injection knobs
   * @throws IllegalArgumentException as the canonical constructor, or if {@value
   *     ThreadKind#PROPERTY} names no usable kind
   */
  public SchedulerConfig(long seed, int maxSteps, long nanosPerStep, FaultPlan faults) {
    this(seed, maxSteps, nanosPerStep, faults, ThreadKind.selected());
  }

  /**
   * Returns the default config for {@code seed}: {@link #DEFAULT_MAX_STEPS}, {@link
   * #DEFAULT_NANOS_PER_STEP}, no faults, the {@link ThreadKind#selected() selected} kind of thread.
   *
   * @param seed the seed
   * @return the config
   */
  public static SchedulerConfig ofSeed(long seed) {
    return new SchedulerConfig(seed, DEFAULT_MAX_STEPS, DEFAULT_NANOS_PER_STEP, FaultPlan.NONE);
  }

  /**
   * Returns a copy with another seed.
   *
   * @param newSeed the seed
   * @return the new config
   */
  public SchedulerConfig withSeed(long newSeed) {
    return new SchedulerConfig(newSeed, maxSteps, nanosPerStep, faults, threads);
  }

  /**
   * Returns a copy with another livelock budget.
   *
   * @param newMaxSteps positive
   * @return the new config
   */
  public SchedulerConfig withMaxSteps(int newMaxSteps) {
    return new SchedulerConfig(seed, newMaxSteps, nanosPerStep, faults, threads);
  }

  /**
   * Returns a copy with another per-step clock advance.
   *
   * @param newNanosPerStep not negative
   * @return the new config
   */
  public SchedulerConfig withNanosPerStep(long newNanosPerStep) {
    return new SchedulerConfig(seed, maxSteps, newNanosPerStep, faults, threads);
  }

  /**
   * Returns a copy with other faults.
   *
   * @param newFaults the knobs
   * @return the new config
   */
  public SchedulerConfig withFaults(FaultPlan newFaults) {
    return new SchedulerConfig(seed, maxSteps, nanosPerStep, newFaults, threads);
  }

  /**
   * Returns a copy on another kind of thread.
   *
   * @param newThreads the kind
   * @return the new config
   */
  public SchedulerConfig withThreads(ThreadKind newThreads) {
    return new SchedulerConfig(seed, maxSteps, nanosPerStep, faults, newThreads);
  }
}
