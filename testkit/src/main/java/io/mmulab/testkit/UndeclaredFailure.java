package io.mmulab.testkit;

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
   * Describes the failure for a test report: what failed, the replay command, the violation with
   * its checker trace, the tail of the schedule, and the shrunk schedule.
   *
   * @return multi-line text
   */
  public String message() {
    StringBuilder sb = new StringBuilder();
    sb.append("undeclared failure at seed ")
        .append(seed())
        .append(": ")
        .append(verdict.summary())
        .append("\nreplay: mvn test -Dtest=<the conformance test> ")
        .append(verdict.run().replayProperties())
        .append("\n\n")
        .append(verdict.run().describe(TRACE_TAIL));
    shrunk.ifPresent(
        s ->
            sb.append('\n')
                .append(s.describe())
                .append("\nthe shrunk run:\n")
                .append(s.run().describe(TRACE_TAIL)));
    return sb.toString();
  }
}
