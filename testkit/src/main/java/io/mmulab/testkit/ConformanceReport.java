package io.mmulab.testkit;

import io.mmulab.api.driver.DriverVariant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Everything a conformance run found, for one or many drivers: scenario sweeps, race searches and
 * stress runs, in the order they finished. The suite adds to it as its tests run and prints it at
 * the end; a command-line tool builds one with {@link ConformanceRunner#runAll} and renders it as
 * it likes. Thread-safe.
 */
public final class ConformanceReport {
  private final List<ScenarioResult> scenarios = new ArrayList<>();
  private final List<RaceResult> races = new ArrayList<>();
  private final List<StressResult> stress = new ArrayList<>();

  /** An empty report. */
  public ConformanceReport() {}

  /**
   * Adds a scenario sweep.
   *
   * @param r the result
   * @return {@code r}
   */
  public synchronized ScenarioResult add(ScenarioResult r) {
    scenarios.add(r);
    return r;
  }

  /**
   * Adds a race search.
   *
   * @param r the result
   * @return {@code r}
   */
  public synchronized RaceResult add(RaceResult r) {
    races.add(r);
    return r;
  }

  /**
   * Adds a stress run.
   *
   * @param r the result
   * @return {@code r}
   */
  public synchronized StressResult add(StressResult r) {
    stress.add(r);
    return r;
  }

  /**
   * Returns the scenario sweeps.
   *
   * @return a copy
   */
  public synchronized List<ScenarioResult> scenarios() {
    return List.copyOf(scenarios);
  }

  /**
   * Returns the race searches.
   *
   * @return a copy
   */
  public synchronized List<RaceResult> races() {
    return List.copyOf(races);
  }

  /**
   * Returns the stress runs.
   *
   * @return a copy
   */
  public synchronized List<StressResult> stress() {
    return List.copyOf(stress);
  }

  /**
   * Finds the search for a race.
   *
   * @param driver the driver's name
   * @param variant the variant
   * @param race the race's name
   * @return the latest search for it, if any
   */
  public synchronized Optional<RaceResult> race(String driver, DriverVariant variant, String race) {
    for (int i = races.size() - 1; i >= 0; i--) {
      RaceResult r = races.get(i);
      if (r.driver().equals(driver) && r.variant() == variant && r.race().name().equals(race)) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }

  /**
   * Tells whether everything passed.
   *
   * @return true if every sweep, search and stress run passed
   */
  public synchronized boolean passed() {
    return scenarios.stream().allMatch(ScenarioResult::passed)
        && races.stream().allMatch(RaceResult::passed)
        && stress.stream().allMatch(StressResult::passed);
  }

  /**
   * Renders a summary table: one line per sweep, race and stress run.
   *
   * @return multi-line text
   */
  public synchronized String render() {
    StringBuilder sb = new StringBuilder("conformance report");
    sb.append(passed() ? " (all passed)" : " (FAILURES)").append('\n');
    if (!scenarios.isEmpty()) {
      sb.append(
          String.format(
              "  %-12s %-13s %-34s %-8s %6s %6s  %s%n",
              "driver", "variant", "scenario", "result", "seeds", "clean", "declared races"));
      for (ScenarioResult r : scenarios) {
        sb.append(
            String.format(
                "  %-12s %-13s %-34s %-8s %6d %6d  %s%n",
                r.driver(),
                r.variant(),
                r.scenario(),
                r.passed() ? "ok" : "FAILED@" + r.failure().get().seed(),
                r.seedsRun(),
                r.cleanSeeds(),
                r.racesFound().isEmpty() ? "" : r.racesFound()));
      }
    }
    races.forEach(r -> sb.append("  ").append(r.message()).append('\n'));
    stress.forEach(
        r ->
            sb.append(
                String.format(
                    "  stress %s/%s: %s, %d violation(s), %d ms%n",
                    r.driver(),
                    r.variant(),
                    r.passed() ? "ok" : "FAILED",
                    r.violationCount(),
                    r.elapsed().toMillis())));
    return sb.toString();
  }

  @Override
  public String toString() {
    return render();
  }
}
