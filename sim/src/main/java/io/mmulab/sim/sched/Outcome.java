package io.mmulab.sim.sched;

/** How a deterministic run ended. */
public enum Outcome {
  /** Every simulated thread finished normally. */
  OK,
  /** A simulated thread threw; the run stopped at the first such throwable. */
  FAILED,
  /** No simulated thread could run and none had a pending deadline. */
  DEADLOCK,
  /** The run took more than {@link SchedulerConfig#maxSteps()} scheduling points. */
  LIVELOCK
}
