package io.mmulab.sim;

import io.mmulab.sim.sched.SchedulerConfig;
import java.util.Objects;

/**
 * Everything a simulated machine is built from, in one record, so a run is reproducible from its
 * configuration alone.
 *
 * @param runtime real threads or the deterministic scheduler
 * @param scheduler the deterministic scheduler's seed, step budget and fault knobs (ignored by the
 *     real runtime)
 * @param frameBudget how many page frames physical memory has, at least 1
 * @param checkerTraceLength events of trace tail kept with each violation, at least 1
 * @param checkerMaxViolations violations the checker stores, at least 1
 */
public record SimConfig(
    RuntimeKind runtime,
    SchedulerConfig scheduler,
    int frameBudget,
    int checkerTraceLength,
    int checkerMaxViolations) {

  /** Which {@link io.mmulab.api.sync.SyncRuntime} the machine runs on. */
  public enum RuntimeKind {
    /** Real threads and {@code java.util.concurrent} locks. */
    REAL,
    /** One simulated thread at a time, scheduled from a seed. */
    DETERMINISTIC
  }

  /** Default frame budget: 64 Ki frames, 256 MiB of simulated memory. */
  public static final int DEFAULT_FRAME_BUDGET = 1 << 16;

  /** Default trace tail per violation. */
  public static final int DEFAULT_TRACE_LENGTH = 64;

  /** Default number of violations kept. */
  public static final int DEFAULT_MAX_VIOLATIONS = 1_000;

  /**
   * Validates the values.
   *
   * @throws IllegalArgumentException naming a value below 1
   */
  public SimConfig {
    Objects.requireNonNull(runtime, "runtime is null");
    Objects.requireNonNull(scheduler, "scheduler is null");
    requirePositive("frameBudget", frameBudget);
    requirePositive("checkerTraceLength", checkerTraceLength);
    requirePositive("checkerMaxViolations", checkerMaxViolations);
  }

  /**
   * A machine on real threads with default sizes.
   *
   * @return the configuration
   */
  public static SimConfig real() {
    return new SimConfig(
        RuntimeKind.REAL,
        SchedulerConfig.ofSeed(0),
        DEFAULT_FRAME_BUDGET,
        DEFAULT_TRACE_LENGTH,
        DEFAULT_MAX_VIOLATIONS);
  }

  /**
   * A machine under the deterministic scheduler with default sizes.
   *
   * @param seed the schedule's seed
   * @return the configuration
   */
  public static SimConfig deterministic(long seed) {
    return new SimConfig(
        RuntimeKind.DETERMINISTIC,
        SchedulerConfig.ofSeed(seed),
        DEFAULT_FRAME_BUDGET,
        DEFAULT_TRACE_LENGTH,
        DEFAULT_MAX_VIOLATIONS);
  }

  /**
   * Returns a copy with another frame budget.
   *
   * @param frames the number of frames, at least 1
   * @return the new configuration
   */
  public SimConfig withFrameBudget(int frames) {
    return new SimConfig(runtime, scheduler, frames, checkerTraceLength, checkerMaxViolations);
  }

  /**
   * Returns a copy with another scheduler configuration.
   *
   * @param newScheduler seed, step budget and fault knobs
   * @return the new configuration
   */
  public SimConfig withScheduler(SchedulerConfig newScheduler) {
    return new SimConfig(
        runtime, newScheduler, frameBudget, checkerTraceLength, checkerMaxViolations);
  }

  private static void requirePositive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1: " + value);
    }
  }
}
