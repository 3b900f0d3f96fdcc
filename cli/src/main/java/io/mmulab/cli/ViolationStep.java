package io.mmulab.cli;

import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.TraceEntry;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import java.util.List;

/**
 * Finds where in a run's trace a violation happened. The checker and the scheduler number their
 * events independently, so the run is replayed with its own choices and a livelock budget of {@code
 * k} scheduling points, which stops it right after point {@code k}: the smallest {@code k} whose
 * replay already holds the violation names the segment it happened in (a binary search, about
 * log2(steps) replays). The thread that ran that segment did it right after its previous trace
 * entry, which is the entry to mark (for a device access, its {@code "translated … before DMA"}
 * point).
 */
final class ViolationStep {
  private ViolationStep() {}

  /**
   * Returns the index in {@code run}'s trace of the last entry before the violation, in the thread
   * that committed it.
   *
   * @param runner the runner of {@code run}'s driver and variant
   * @param run the run
   * @param violation one of its violations
   * @return the index, or -1 if replays do not show it
   */
  static int locate(ScenarioRunner runner, ScenarioRun run, Violation violation) {
    RunResult r = run.result();
    long lo = 1;
    long hi = r.steps();
    if (hi < 1 || !seenWithin(runner, run, violation, hi)) {
      return -1;
    }
    while (lo < hi) {
      long mid = lo + (hi - lo) / 2;
      if (seenWithin(runner, run, violation, mid)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return entryBefore(r.trace().entries(), lo);
  }

  private static boolean seenWithin(
      ScenarioRunner runner, ScenarioRun run, Violation violation, long steps) {
    RunResult r = run.result();
    ScenarioRun prefix =
        runner.replay(
            run.scenario(),
            r.config().withMaxSteps((int) Math.min(Integer.MAX_VALUE, steps)),
            r.choiceArray());
    return prefix.violations().stream().anyMatch(v -> v.summary().equals(violation.summary()));
  }

  /**
   * The entries of segment {@code step} are those recorded with that step number, all by the thread
   * that ran it; its previous entry is where it was before committing the violation.
   */
  private static int entryBefore(List<TraceEntry> entries, long step) {
    int first = -1;
    for (int i = 0; i < entries.size() && first < 0; i++) {
      if (entries.get(i).step() == step) {
        first = i;
      }
    }
    if (first < 0) {
      return entries.isEmpty() ? -1 : entries.size() - 1;
    }
    String thread = entries.get(first).thread();
    for (int i = first - 1; i >= 0; i--) {
      if (entries.get(i).thread().equals(thread)) {
        return i;
      }
    }
    return first;
  }
}
