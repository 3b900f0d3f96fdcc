package io.mmulab.testkit.scenario;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.Trace;
import io.mmulab.sim.sched.TraceEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One run of a scenario: what the scheduler, the checker and the kernel's warnings saw.
 *
 * @param scenario the scenario
 * @param driver the driver's name
 * @param variant the variant
 * @param result the deterministic run: outcome, trace, choices, failure, report, config
 * @param violations what the checker stored, oldest first; a run the scheduler ended in {@link
 *     Outcome#DEADLOCK} or {@link Outcome#LIVELOCK} gets one more, of the kind {@link
 *     ViolationKind#DEADLOCK} or {@link ViolationKind#LIVELOCK}, whose message is the run's {@link
 *     RunResult#stall()} (added here unless present)
 * @param violationCount how many the checker reported (it stores a bounded number), plus the stall
 * @param warnings kernel {@code WARN_ON}s of every process of the run (driver bugs the kernel
 *     survives, such as a callback refusing a blockable range)
 * @param deviceCalls how the scenario's device calls ended (see {@link ScenarioStats})
 */
public record ScenarioRun(
    Scenario scenario,
    String driver,
    DriverVariant variant,
    RunResult result,
    List<Violation> violations,
    long violationCount,
    List<String> warnings,
    Map<String, Long> deviceCalls) {

  /** Copies the lists. */
  public ScenarioRun {
    Objects.requireNonNull(scenario, "scenario is null");
    Objects.requireNonNull(result, "result is null");
    Violation stuck = stallFinding(result, violations);
    if (stuck != null) {
      List<Violation> withStall = new ArrayList<>(violations);
      withStall.add(stuck);
      violations = withStall;
      violationCount++;
    }
    violations = List.copyOf(violations);
    warnings = List.copyOf(warnings);
    deviceCalls = Map.copyOf(deviceCalls);
  }

  /** Device name of the scheduler's findings. */
  public static final String SCHEDULER = "scheduler";

  private static final int STALL_TRACE_TAIL = 24;

  /** A stuck run's finding, or null if the run is not stuck or already carries it. */
  private static @Nullable Violation stallFinding(RunResult result, List<Violation> violations) {
    ViolationKind kind =
        switch (result.outcome()) {
          case DEADLOCK -> ViolationKind.DEADLOCK;
          case LIVELOCK -> ViolationKind.LIVELOCK;
          case OK, FAILED -> null;
        };
    if (kind == null || violations.stream().anyMatch(v -> v.kind() == kind)) {
      return null;
    }
    List<String> tail = new ArrayList<>();
    List<TraceEntry> entries = result.trace().entries();
    for (int i = Math.max(0, entries.size() - STALL_TRACE_TAIL); i < entries.size(); i++) {
      tail.add(entries.get(i).toString());
    }
    String stall = result.stall() == null ? result.outcome().toString() : result.stall();
    return new Violation(
        kind, SCHEDULER, null, CoherencyChecker.NO_VA, CoherencyChecker.NO_PFN, stall, tail);
  }

  /**
   * Returns the seed of the run.
   *
   * @return the seed
   */
  public long seed() {
    return result.seed();
  }

  /**
   * Returns the stored violations of one kind.
   *
   * @param kind the kind
   * @return oldest first
   */
  public List<Violation> violations(ViolationKind kind) {
    return violations.stream().filter(v -> v.kind() == kind).toList();
  }

  /**
   * Returns how the seed's schedule was drawn.
   *
   * @return {@link ScheduleStrategy#forSeed} of the seed
   */
  public ScheduleStrategy strategy() {
    return ScheduleStrategy.forSeed(seed());
  }

  /**
   * Returns how the run ended.
   *
   * @return the outcome
   */
  public Outcome outcome() {
    return result.outcome();
  }

  /**
   * Tells whether the run ended normally with no violation and no warning.
   *
   * @return true if clean
   */
  public boolean isClean() {
    return outcome() == Outcome.OK && violationCount == 0 && warnings.isEmpty();
  }

  /**
   * Returns the system properties that replay this run in the conformance suite.
   *
   * @return {@code -Dmmulab.seed=S -Dmmulab.seeds=1 -Dmmulab.scenario=… -Dmmulab.variant=…}
   */
  public String replayProperties() {
    return "-Dmmulab.seed="
        + seed()
        + " -Dmmulab.seeds=1 -Dmmulab.scenario="
        + scenario.name()
        + " -Dmmulab.variant="
        + variant;
  }

  /**
   * Describes the run for a failure message: outcome, failure, violations with their checker trace,
   * warnings, and the tail of the schedule's trace.
   *
   * @param traceTail how many schedule trace events to show
   * @return multi-line text
   */
  public String describe(int traceTail) {
    StringBuilder sb = new StringBuilder();
    sb.append(driver)
        .append('/')
        .append(variant)
        .append(" on ")
        .append(scenario.name())
        .append(", seed ")
        .append(seed())
        .append(" (")
        .append(strategy())
        .append(" schedule)")
        .append(": ")
        .append(outcome())
        .append(", ")
        .append(result.steps())
        .append(" steps, ")
        .append(result.choices().size())
        .append(" choices, ")
        .append(violationCount)
        .append(" violation(s), ")
        .append(warnings.size())
        .append(" warning(s)\n");
    if (result.failure() != null) {
      sb.append("thread ")
          .append(result.failedThread())
          .append(" failed: ")
          .append(result.failure())
          .append('\n');
    }
    if (outcome() == Outcome.DEADLOCK || outcome() == Outcome.LIVELOCK) {
      sb.append(result.report()).append('\n');
    }
    for (int i = 0; i < violations.size(); i++) {
      Violation v = violations.get(i);
      sb.append(i == 0 ? v.toString() : v.summary()).append('\n');
    }
    for (String w : warnings) {
      sb.append("WARN: ").append(w).append('\n');
    }
    sb.append(scheduleExcerpt(traceTail));
    return sb.toString();
  }

  /**
   * Returns the step of the schedule's trace where the scenario first noticed a violation: the note
   * its context adds after the device call or CPU operation that returned after it.
   *
   * @return the index into {@code result().trace().entries()}, or -1 if none
   */
  public int firstViolationIndex() {
    List<TraceEntry> entries = result.trace().entries();
    for (int i = 0; i < entries.size(); i++) {
      if (entries.get(i).label().startsWith(ScenarioContext.VIOLATION_NOTE)) {
        return i;
      }
    }
    return -1;
  }

  /** The schedule around the first violation noticed, or its tail. */
  private String scheduleExcerpt(int events) {
    Trace trace = result.trace();
    int at = firstViolationIndex();
    if (at < 0) {
      int n = Math.min(events, trace.size());
      return "schedule trace, last "
          + n
          + " of "
          + trace.size()
          + " events:\n"
          + trace.renderTail(n).indent(2);
    }
    int from = Math.max(0, at - events * 3 / 4);
    int to = Math.min(trace.size(), from + events);
    return "schedule trace, entries "
        + from
        + "–"
        + (to - 1)
        + " of "
        + trace.size()
        + ", around the first violation noticed (at step #"
        + trace.entries().get(at).step()
        + "):\n"
        + trace.render(from, to).indent(2);
  }

  @Override
  public String toString() {
    return driver
        + "/"
        + variant
        + " "
        + scenario.name()
        + " seed "
        + seed()
        + ": "
        + outcome()
        + ", "
        + violationCount
        + " violation(s)";
  }
}
