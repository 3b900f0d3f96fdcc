package io.mmulab.testkit;

import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.util.Objects;
import java.util.Optional;

/**
 * The first run of a sweep that failed in a way no declared race covers, with its shrunk schedule.
 *
 * @param verdict the failing run, judged
 * @param shrunk the schedule made smaller (empty if shrinking was off or did not reproduce)
 */
public record UndeclaredFailure(Verdict verdict, Optional<ShrunkSchedule> shrunk) {
  /** Trace events shown in messages. */
  public static final int TRACE_TAIL = 60;

  /** Validates. */
  public UndeclaredFailure {
    Objects.requireNonNull(verdict, "verdict is null");
    Objects.requireNonNull(shrunk, "shrunk is null");
  }

  /**
   * Returns the seed that fails.
   *
   * @return the seed
   */
  public long seed() {
    return verdict.run().seed();
  }

  /**
   * Describes the failure for a test report, with the replay command of the JUnit test class on the
   * calling thread's stack ({@link ReplayCommand#here()}).
   *
   * @return multi-line text
   * @see #message(ReplayCommand)
   */
  public String message() {
    return message(ReplayCommand.here());
  }

  /**
   * Describes the failure for a test report: what failed, the commands that replay it (the seed
   * alone, and the sweep of that seed with shrinking), the violation with its checker trace, the
   * schedule around it, and the shrunk schedule.
   *
   * @param command how to rerun the test class that found it
   * @return multi-line text
   */
  public String message(ReplayCommand command) {
    ScenarioRun run = verdict.run();
    StringBuilder sb = new StringBuilder();
    sb.append("undeclared failure at seed ")
        .append(seed())
        .append(": ")
        .append(verdict.summary())
        .append("\nreplay: ")
        .append(command.line(SeedReplay.of(run).property()))
        .append("\n  (that seed alone; ")
        .append(run.replayProperties())
        .append(" instead reruns it as a sweep, shrinking included)\n\n")
        .append(run.describe(TRACE_TAIL));
    shrunk.ifPresent(
        s ->
            sb.append('\n')
                .append(s.describe())
                .append("\nthe shrunk run:\n")
                .append(s.run().describe(TRACE_TAIL)));
    return sb.toString();
  }
}
