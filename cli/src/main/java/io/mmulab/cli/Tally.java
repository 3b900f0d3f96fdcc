package io.mmulab.cli;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.check.Violation;
import io.mmulab.testkit.RaceScenario;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the seed sweeps of one driver variant found, judged run by run with the testkit's {@link
 * Verdict}: how many runs were clean, how many runs showed each violation kind, the first run that
 * showed each declared race in each of its scenarios (searched past the sweep's seeds if need be),
 * and the first undeclared failure of each scenario. Thread-safe.
 */
final class Tally {
  private final DriverFactory driver;
  private final DriverVariant variant;
  private final List<Scenario> scenarios;
  private final SeedRange seeds;
  private final SeedRange raceSeeds;
  private final List<RaceScenario> races;
  private final Map<ViolationKind, Long> kindRuns = new EnumMap<>(ViolationKind.class);
  private final Map<RaceScenario, Finding> raceFindings = new LinkedHashMap<>();
  private final Map<String, Finding> undeclared = new LinkedHashMap<>();
  private long runs;
  private long clean;

  /**
   * Starts a tally.
   *
   * @param driver the driver
   * @param variant the variant
   * @param scenarios the scenarios swept
   * @param seeds the seeds swept per scenario
   * @param raceLast the last seed a declared race not shown within {@code seeds} is searched to
   */
  Tally(
      DriverFactory driver,
      DriverVariant variant,
      List<Scenario> scenarios,
      SeedRange seeds,
      long raceLast) {
    this.driver = driver;
    this.variant = variant;
    this.scenarios = List.copyOf(scenarios);
    this.seeds = seeds;
    this.raceSeeds = new SeedRange(seeds.first(), Math.max(seeds.last(), raceLast));
    Set<String> names = new HashSet<>();
    scenarios.forEach(s -> names.add(s.name()));
    this.races =
        RaceScenario.of(driver.declaredRaces(variant))
            .filter(r -> names.contains(r.scenario()))
            .toList();
  }

  /**
   * Judges a run and counts it.
   *
   * @param run a run of this tally's driver variant
   */
  void add(ScenarioRun run) {
    Verdict v = Verdict.of(run, driver.declaredRaces(variant));
    synchronized (this) {
      runs++;
      if (run.isClean()) {
        clean++;
      }
      Set<ViolationKind> kinds = new HashSet<>();
      run.violations().forEach(x -> kinds.add(x.kind()));
      kinds.forEach(k -> kindRuns.merge(k, 1L, Long::sum));
      recordRaces(run, v);
      if (!v.passed()) {
        Violation first = v.undeclared().isEmpty() ? null : v.undeclared().get(0);
        String name = run.scenario().name();
        undeclared.put(name, new Finding(run, first, brief(v)).earliest(undeclared.get(name)));
      }
    }
  }

  /**
   * Judges a run of the search for races not shown by the sweep: only the races it shows count.
   *
   * @param run a run of this tally's driver variant, past the sweep's seeds
   */
  void addRaceSearch(ScenarioRun run) {
    Verdict v = Verdict.of(run, driver.declaredRaces(variant));
    synchronized (this) {
      recordRaces(run, v);
    }
  }

  private void recordRaces(ScenarioRun run, Verdict v) {
    v.races()
        .forEach(
            (race, shown) -> {
              RaceScenario key = new RaceScenario(race, run.scenario().name());
              raceFindings.put(
                  key,
                  new Finding(run, shown.get(0), "race " + race.name())
                      .earliest(raceFindings.get(key)));
            });
  }

  /**
   * Says in one line what a verdict found: the first undeclared problem or violation and how many
   * more there are, or the declared races shown.
   *
   * @param v the verdict
   * @return the line
   */
  static String brief(Verdict v) {
    List<String> all = new ArrayList<>(v.problems());
    v.undeclared().forEach(x -> all.add("undeclared " + x.summary()));
    if (all.isEmpty()) {
      List<String> races = new ArrayList<>();
      v.races()
          .forEach(
              (race, shown) ->
                  races.add(
                      race.name()
                          + " ("
                          + shown.stream()
                              .map(x -> x.kind().name())
                              .distinct()
                              .collect(Collectors.joining(", "))
                          + ")"));
      return races.isEmpty() ? "clean" : "declared race " + String.join("; ", races);
    }
    String first = all.get(0).lines().findFirst().orElse("");
    return first + (all.size() > 1 ? " (and " + (all.size() - 1) + " more)" : "");
  }

  /** Returns the driver. */
  DriverFactory driver() {
    return driver;
  }

  /** Returns the variant. */
  DriverVariant variant() {
    return variant;
  }

  /** Returns the scenarios swept. */
  List<Scenario> scenarios() {
    return scenarios;
  }

  /** Returns the seeds swept per scenario. */
  SeedRange seeds() {
    return seeds;
  }

  /** Returns the seeds a declared race is searched in: the sweep's, extended. */
  SeedRange raceSeeds() {
    return raceSeeds;
  }

  /** Returns the (declared race, scenario) pairs of the scenarios swept that no run showed yet. */
  synchronized List<RaceScenario> missingRaces() {
    return races.stream().filter(r -> !raceFindings.containsKey(r)).toList();
  }

  /** Returns the races the variant declares, in each of the scenarios swept that exposes them. */
  List<RaceScenario> races() {
    return races;
  }

  /** Returns how many runs were judged. */
  synchronized long runs() {
    return runs;
  }

  /** Returns how many runs were clean. */
  synchronized long cleanRuns() {
    return clean;
  }

  /** Returns, per violation kind, how many runs reported it. */
  synchronized Map<ViolationKind, Long> kindRuns() {
    return new EnumMap<>(kindRuns);
  }

  /** Returns the first run showing each declared race in each scenario where it showed up. */
  synchronized Map<RaceScenario, Finding> raceFindings() {
    return new LinkedHashMap<>(raceFindings);
  }

  /** Returns the first undeclared failure of each scenario that had one. */
  synchronized Map<String, Finding> undeclared() {
    return new LinkedHashMap<>(undeclared);
  }

  /**
   * Returns what breaks the rules of {@code run}: for the consolidated variant any run that is not
   * clean; for every variant a finding no declared race covers (a legacy variant's declarations are
   * its documentation), and a declared race that never showed up in one of its scenarios.
   *
   * @return one line each, empty if none
   */
  synchronized List<String> problems() {
    List<String> out = new ArrayList<>();
    String who = driver.name() + "/" + Catalog.name(variant);
    if (variant == DriverVariant.CONSOLIDATED && clean < runs) {
      out.add(
          who
              + ": "
              + (runs - clean)
              + " of "
              + runs
              + " runs not clean, first: "
              + firstUnclean());
    } else if (!undeclared.isEmpty()) {
      out.add(
          who
              + ": findings no declared race covers, in "
              + undeclared.size()
              + " scenario(s), first: "
              + firstUnclean());
    }
    for (RaceScenario r : races) {
      if (!raceFindings.containsKey(r)) {
        out.add(who + ": declared race " + r + " not reproduced in seeds " + raceSeeds);
      }
    }
    return out;
  }

  private String firstUnclean() {
    Finding f = null;
    for (Finding u : undeclared.values()) {
      f = u.earliest(f);
    }
    return f == null
        ? "(none kept)"
        : f.run().scenario().name() + " seed " + f.seed() + ": " + f.what();
  }
}
