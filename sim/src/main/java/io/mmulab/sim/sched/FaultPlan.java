package io.mmulab.sim.sched;

/**
 * Fault-injection knobs of one run. Every decision is drawn from a {@link
 * java.util.SplittableRandom} derived from the run's seed (one stream per knob, see {@link
 * FaultInjector}), so the same seed and the same schedule give the same faults.
 *
 * @param extraYieldBeforeLock probability of an extra scheduling point before each lock acquisition
 *     attempt (blocking and try), on top of the one every acquisition has
 * @param spuriousWakeup probability, at each scheduling point, of waking one thread that sleeps on
 *     a wait queue or a completion although nobody woke it; the sleeper re-checks its condition
 * @param dmaCompletionDelayMaxSteps upper bound (inclusive) of {@link
 *     FaultInjector#dmaCompletionDelaySteps()}, for device models
 * @param dmaReorder probability that {@link FaultInjector#reorderDmaCompletions()} answers true
 * @param fenceTimeout probability that {@link FaultInjector#fenceTimesOut()} answers true
 */
public record FaultPlan(
    double extraYieldBeforeLock,
    double spuriousWakeup,
    int dmaCompletionDelayMaxSteps,
    double dmaReorder,
    double fenceTimeout) {

  /** No faults at all. */
  public static final FaultPlan NONE = new FaultPlan(0, 0, 0, 0, 0);

  /**
   * Validates the knobs.
   *
   * @throws IllegalArgumentException naming the first probability outside [0, 1] or negative bound
   */
  public FaultPlan {
    checkProbability("extraYieldBeforeLock", extraYieldBeforeLock);
    checkProbability("spuriousWakeup", spuriousWakeup);
    if (dmaCompletionDelayMaxSteps < 0) {
      throw new IllegalArgumentException(
          "dmaCompletionDelayMaxSteps must not be negative: " + dmaCompletionDelayMaxSteps);
    }
    checkProbability("dmaReorder", dmaReorder);
    checkProbability("fenceTimeout", fenceTimeout);
  }

  /**
   * Returns a copy with another extra-yield probability.
   *
   * @param p probability in [0, 1]
   * @return the new plan
   */
  public FaultPlan withExtraYieldBeforeLock(double p) {
    return new FaultPlan(p, spuriousWakeup, dmaCompletionDelayMaxSteps, dmaReorder, fenceTimeout);
  }

  /**
   * Returns a copy with another spurious wake-up probability.
   *
   * @param p probability in [0, 1]
   * @return the new plan
   */
  public FaultPlan withSpuriousWakeup(double p) {
    return new FaultPlan(
        extraYieldBeforeLock, p, dmaCompletionDelayMaxSteps, dmaReorder, fenceTimeout);
  }

  /**
   * Returns a copy with another DMA completion delay bound.
   *
   * @param maxSteps the bound, not negative
   * @return the new plan
   */
  public FaultPlan withDmaCompletionDelayMaxSteps(int maxSteps) {
    return new FaultPlan(extraYieldBeforeLock, spuriousWakeup, maxSteps, dmaReorder, fenceTimeout);
  }

  /**
   * Returns a copy with another DMA reordering probability.
   *
   * @param p probability in [0, 1]
   * @return the new plan
   */
  public FaultPlan withDmaReorder(double p) {
    return new FaultPlan(
        extraYieldBeforeLock, spuriousWakeup, dmaCompletionDelayMaxSteps, p, fenceTimeout);
  }

  /**
   * Returns a copy with another fence timeout probability.
   *
   * @param p probability in [0, 1]
   * @return the new plan
   */
  public FaultPlan withFenceTimeout(double p) {
    return new FaultPlan(
        extraYieldBeforeLock, spuriousWakeup, dmaCompletionDelayMaxSteps, dmaReorder, p);
  }

  private static void checkProbability(String knob, double p) {
    if (!(p >= 0 && p <= 1)) {
      throw new IllegalArgumentException(knob + " must be a probability in [0, 1]: " + p);
    }
  }
}
