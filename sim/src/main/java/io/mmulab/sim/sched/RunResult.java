package io.mmulab.sim.sched;

import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a deterministic run produced. {@code config} and {@code choices} replay it exactly ({@link
 * Simulation#replay(RunResult, java.util.function.Consumer)}).
 *
 * @param outcome how it ended
 * @param trace every labelled event
 * @param choices every choice the scheduler made, in order (see {@link ScheduleSource})
 * @param failure for {@link Outcome#FAILED}: the first throwable a simulated thread threw; else
 *     null
 * @param failedThread for {@link Outcome#FAILED}: the name of that thread; else null
 * @param report human-readable: the outcome, then each thread and what it waits on
 * @param stall for {@link Outcome#DEADLOCK}: the cycle of waits (or, when there is none, that
 *     nothing will signal what the threads wait for), then each unfinished thread with what it
 *     waits for and the locks it holds; for {@link Outcome#LIVELOCK}: the budget and the same per
 *     thread; else null
 * @param steps how many scheduling points the run passed
 * @param virtualNanos the virtual clock at the end
 * @param config the config of the run
 */
public record RunResult(
    Outcome outcome,
    Trace trace,
    List<Integer> choices,
    @Nullable Throwable failure,
    @Nullable String failedThread,
    String report,
    @Nullable String stall,
    long steps,
    long virtualNanos,
    SchedulerConfig config) {

  /**
   * Validates and copies.
   *
   * @throws NullPointerException if a required component is null
   */
  public RunResult {
    Objects.requireNonNull(outcome, "outcome is null");
    Objects.requireNonNull(trace, "trace is null");
    choices = List.copyOf(choices);
    Objects.requireNonNull(report, "report is null");
    Objects.requireNonNull(config, "config is null");
  }

  /**
   * Returns the choices as an array, for {@link ScheduleSource#replay(int...)}.
   *
   * @return a new array
   */
  public int[] choiceArray() {
    return choices.stream().mapToInt(Integer::intValue).toArray();
  }

  /**
   * Tells whether the run did not end {@link Outcome#OK}.
   *
   * @return true for FAILED, DEADLOCK and LIVELOCK
   */
  public boolean isFailure() {
    return outcome != Outcome.OK;
  }

  /**
   * Returns the seed of the run.
   *
   * @return {@code config().seed()}
   */
  public long seed() {
    return config.seed();
  }

  @Override
  public String toString() {
    return "RunResult["
        + outcome
        + ", seed "
        + config.seed()
        + ", "
        + steps
        + " steps, "
        + choices.size()
        + " choices]\n"
        + report;
  }
}
