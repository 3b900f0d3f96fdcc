package io.mmulab.sim.sched;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Draws the fault decisions of one run. Each knob has its own {@link SplittableRandom} stream split
 * in a fixed order from one root seeded by the run's seed, so a decision depends only on the seed
 * and on how many decisions of the same knob came before it: asking one knob more often never
 * shifts another knob's decisions. A knob whose probability is 0 never draws.
 *
 * <p>The scheduler uses {@link #extraYieldBeforeLock()} and {@link #spuriousWakeup()}; device
 * models ask the DMA and fence knobs. Decisions are not written to the trace. The methods are
 * synchronized so that a stray call from outside the simulation cannot corrupt a stream, but
 * reproducibility needs every caller to be a simulated thread (which run one at a time).
 */
public final class FaultInjector {
  private static final long STREAM_SALT = 0x6A09E667F3BCC909L;

  private final FaultPlan plan;
  private final SplittableRandom extraYield;
  private final SplittableRandom spurious;
  private final SplittableRandom dmaDelay;
  private final SplittableRandom dmaReorder;
  private final SplittableRandom fence;

  /**
   * Creates the fault streams of {@code plan} for {@code seed}.
   *
   * @param plan the knobs
   * @param seed the run's seed
   */
  public FaultInjector(FaultPlan plan, long seed) {
    this.plan = Objects.requireNonNull(plan, "plan is null");
    SplittableRandom root = new SplittableRandom(seed ^ STREAM_SALT);
    this.extraYield = root.split();
    this.spurious = root.split();
    this.dmaDelay = root.split();
    this.dmaReorder = root.split();
    this.fence = root.split();
  }

  /**
   * Returns the knobs.
   *
   * @return the plan
   */
  public FaultPlan plan() {
    return plan;
  }

  /**
   * Returns how many scheduling steps a device should hold back the next DMA completion: uniform in
   * {@code [0, dmaCompletionDelayMaxSteps]}.
   *
   * @return the delay, 0 when the knob is off
   */
  public synchronized int dmaCompletionDelaySteps() {
    int max = plan.dmaCompletionDelayMaxSteps();
    return max == 0 ? 0 : (int) dmaDelay.nextLong(max + 1L);
  }

  /**
   * Decides whether a device completes its next pending DMA operations out of submission order.
   *
   * @return true with probability {@link FaultPlan#dmaReorder()}
   */
  public synchronized boolean reorderDmaCompletions() {
    return draw(dmaReorder, plan.dmaReorder());
  }

  /**
   * Decides whether the next fence wait times out even though the fence would signal.
   *
   * @return true with probability {@link FaultPlan#fenceTimeout()}
   */
  public synchronized boolean fenceTimesOut() {
    return draw(fence, plan.fenceTimeout());
  }

  /** Decides whether to add a scheduling point before a lock acquisition. */
  synchronized boolean extraYieldBeforeLock() {
    return draw(extraYield, plan.extraYieldBeforeLock());
  }

  /** Whether {@link #spuriousWakeup()} can ever answer true (it draws nothing when it cannot). */
  boolean spuriousWakeupsPlanned() {
    return plan.spuriousWakeup() > 0;
  }

  /** Decides whether to wake a sleeper spuriously at this scheduling point. */
  synchronized boolean spuriousWakeup() {
    return draw(spurious, plan.spuriousWakeup());
  }

  /** Picks which of {@code n} sleepers the spurious wake-up hits. */
  synchronized int spuriousTarget(int n) {
    return n == 1 ? 0 : spurious.nextInt(n);
  }

  private static boolean draw(SplittableRandom r, double p) {
    if (p <= 0) {
      return false;
    }
    return p >= 1 || r.nextDouble() < p;
  }
}
