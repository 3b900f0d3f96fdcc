package io.mmulab.testkit.scenario;

import io.mmulab.sim.sched.ScheduleSource;
import java.util.SplittableRandom;

/**
 * How a seed's schedule is drawn. Seeds alternate between two strategies, so a sweep gets both
 * kinds of interleavings and a seed alone still replays its run.
 *
 * <ul>
 *   <li>{@link #UNIFORM} (even seeds): every choice uniform among the runnable threads, the sim's
 *       own {@link ScheduleSource#random}. Fine-grained interleavings everywhere.
 *   <li>{@link #STICKY} (odd seeds): keep the running thread with probability {@value #STICKINESS},
 *       else switch to a uniformly chosen other one. Long uninterrupted stretches: what exposes a
 *       thread that stalls inside a window while another does a whole page fault (uniform
 *       scheduling interleaves that finely and rarely leaves one thread idle for long).
 * </ul>
 *
 * <p>Measured on the tutorial driver's declared race (two overlapping windows, a fault between the
 * first end and the second page-table change): 1 seed in 500 exposes it under {@code UNIFORM}, 1 in
 * 20 under {@code STICKY}.
 */
public enum ScheduleStrategy {
  /** Every choice uniform among the candidates. */
  UNIFORM,
  /** Keep the running thread with probability {@value #STICKINESS}. */
  STICKY;

  /** Probability that a {@link #STICKY} schedule does not preempt. */
  public static final double STICKINESS = 0.9;

  /**
   * Returns the strategy of a seed.
   *
   * @param seed the seed
   * @return {@link #UNIFORM} for even seeds, {@link #STICKY} for odd ones
   */
  public static ScheduleStrategy forSeed(long seed) {
    return (seed & 1) == 0 ? UNIFORM : STICKY;
  }

  /**
   * Returns the choice source of a seed under this strategy.
   *
   * @param seed the seed
   * @return a new source
   */
  public ScheduleSource source(long seed) {
    return switch (this) {
      case UNIFORM -> ScheduleSource.random(seed);
      case STICKY -> sticky(new SplittableRandom(seed));
    };
  }

  private static ScheduleSource sticky(SplittableRandom rng) {
    return candidates -> rng.nextDouble() < STICKINESS ? 0 : 1 + rng.nextInt(candidates - 1);
  }
}
