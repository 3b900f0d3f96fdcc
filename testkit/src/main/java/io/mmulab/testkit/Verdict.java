package io.mmulab.testkit;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.testkit.scenario.ScenarioRun;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One run judged against the races its variant declares: each violation whose kind one of the races
 * exposed by the run's scenario lists counts as that race showing up; every other violation (a
 * deadlock or livelock included: {@link ScenarioRun} carries it as one), a run in which a thread
 * threw and every kernel warning is undeclared.
 *
 * @param run the run
 * @param races the declared races that showed up, with the violations that showed them
 * @param undeclared violations no declared race of this scenario covers
 * @param problems other undeclared failures: the outcome (with the failing thread and throwable)
 *     and the kernel warnings
 */
public record Verdict(
    ScenarioRun run,
    Map<DeclaredRace, List<Violation>> races,
    List<Violation> undeclared,
    List<String> problems) {

  /** Copies. */
  public Verdict {
    races = Map.copyOf(races);
    undeclared = List.copyOf(undeclared);
    problems = List.copyOf(problems);
  }

  /**
   * Judges a run.
   *
   * @param run the run
   * @param declared the races its driver variant declares (for any scenario)
   * @return the verdict
   */
  public static Verdict of(ScenarioRun run, List<DeclaredRace> declared) {
    List<DeclaredRace> here =
        declared.stream().filter(r -> r.exposedBy(run.scenario().name())).toList();
    Map<DeclaredRace, List<Violation>> races = new LinkedHashMap<>();
    List<Violation> undeclared = new ArrayList<>();
    for (Violation v : run.violations()) {
      boolean covered = false;
      for (DeclaredRace r : here) {
        if (r.kinds().contains(v.kind())) {
          races.computeIfAbsent(r, k -> new ArrayList<>()).add(v);
          covered = true;
        }
      }
      if (!covered) {
        undeclared.add(v);
      }
    }
    List<String> problems = new ArrayList<>();
    if (run.outcome() == Outcome.FAILED) { // a stuck run is a finding among the violations
      problems.add(
          run.outcome()
              + (run.result().failure() == null
                  ? ""
                  : " in thread " + run.result().failedThread() + ": " + run.result().failure()));
    }
    run.warnings().forEach(w -> problems.add("kernel warning: " + w));
    return new Verdict(run, races, undeclared, problems);
  }

  /**
   * Tells whether nothing undeclared happened.
   *
   * @return true if the run is clean or shows declared races only
   */
  public boolean passed() {
    return undeclared.isEmpty() && problems.isEmpty();
  }

  /**
   * Tells whether a declared race showed up.
   *
   * @param race the race
   * @return true if one of its kinds was reported in its scenario
   */
  public boolean shows(DeclaredRace race) {
    return races.containsKey(race);
  }

  /**
   * Returns what kind of undeclared failure this is, to tell whether a replay fails the same way:
   * {@code "violation STALE_USE"}, {@code "violation DEADLOCK"}, {@code "FAILED
   * java.lang.AssertionError"}, {@code "warning"}.
   *
   * @return the failure's signature, empty if the run passed
   */
  public Set<String> signature() {
    Set<String> s = new TreeSet<>();
    undeclared.forEach(v -> s.add("violation " + v.kind()));
    if (run.outcome() == Outcome.FAILED) {
      Throwable t = run.result().failure();
      s.add(run.outcome() + (t == null ? "" : " " + t.getClass().getName()));
    }
    if (!run.warnings().isEmpty()) {
      s.add("warning");
    }
    return s;
  }

  /**
   * Tells whether another verdict shares an undeclared failure kind with this one.
   *
   * @param other a verdict of a replay
   * @return true if the signatures intersect
   */
  public boolean failsLike(Verdict other) {
    Set<String> mine = signature();
    return other.signature().stream().anyMatch(mine::contains);
  }

  /**
   * One line: the undeclared failures, or "passed".
   *
   * @return the summary
   */
  public String summary() {
    if (passed()) {
      return "passed" + (races.isEmpty() ? "" : ", declared races shown: " + raceNames());
    }
    List<String> parts = new ArrayList<>(problems);
    if (!undeclared.isEmpty()) {
      parts.add(
          "undeclared "
              + undeclared.get(0).summary()
              + (undeclared.size() > 1 ? " (+" + (undeclared.size() - 1) + " more)" : ""));
    }
    return String.join("; ", parts);
  }

  private List<String> raceNames() {
    return races.keySet().stream().map(DeclaredRace::name).toList();
  }
}
