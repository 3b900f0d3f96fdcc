package io.mmulab.testkit;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.ScenarioStats;
import io.mmulab.testkit.scenario.Scenarios;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Runs the conformance checks without JUnit: scenario sweeps, race searches, stress runs, and the
 * driver's metadata contract. {@link DriverConformanceSuite} turns each into a test; a command-line
 * tool calls the same methods and renders the results.
 *
 * <pre>{@code
 * ConformanceRunner runner = new ConformanceRunner(ConformanceOptions.defaults());
 * Scenario munmap = Scenarios.byName("munmap-vs-fault");
 * ScenarioResult r = runner.run(factory, DriverVariant.CONSOLIDATED, munmap);
 * DeclaredRace race = factory.declaredRaces(DriverVariant.LEGACY).get(0);
 * RaceResult found = runner.findRace(factory, DriverVariant.LEGACY, race);
 * ConformanceReport all = runner.runAll(factory);
 * }</pre>
 *
 * <p>The rules: a consolidated variant must be clean on every scenario and seed; a violation of a
 * kind that one of the variant's races declares for that scenario shows the race, anything else
 * (another violation, a failed, deadlocked or livelocked run, a kernel warning) fails; each
 * declared race must show up within its budget.
 */
public final class ConformanceRunner {
  private final ConformanceOptions options;

  /**
   * Creates a runner.
   *
   * @param options budgets and filters
   */
  public ConformanceRunner(ConformanceOptions options) {
    this.options = Objects.requireNonNull(options, "options is null");
  }

  /**
   * Returns the options.
   *
   * @return the options
   */
  public ConformanceOptions options() {
    return options;
  }

  /**
   * Sweeps a scenario over the options' seeds.
   *
   * @param factory the driver
   * @param variant one of its variants
   * @param scenario the scenario
   * @return the result
   */
  public ScenarioResult run(DriverFactory factory, DriverVariant variant, Scenario scenario) {
    return run(factory, variant, scenario, options.firstSeed(), options.seeds());
  }

  /**
   * Sweeps a scenario over {@code [firstSeed, firstSeed + seeds)}, judging each run against the
   * variant's declared races; stops at the first undeclared failure and shrinks its schedule.
   *
   * @param factory the driver
   * @param variant one of its variants
   * @param scenario the scenario
   * @param firstSeed the first seed
   * @param seeds how many seeds, at least 1
   * @return the result
   */
  public ScenarioResult run(
      DriverFactory factory, DriverVariant variant, Scenario scenario, long firstSeed, int seeds) {
    long t0 = System.nanoTime();
    ScenarioRunner runner = new ScenarioRunner(factory, variant);
    List<DeclaredRace> declared = factory.declaredRaces(variant);
    ScenarioStats calls = new ScenarioStats();
    Map<String, Long> races = new LinkedHashMap<>();
    int clean = 0;
    int ran = 0;
    Optional<UndeclaredFailure> failure = Optional.empty();
    for (long seed = firstSeed; seed < firstSeed + seeds; seed++) {
      ScenarioRun run = runner.run(scenario, seed);
      ran++;
      calls.addAll(run.deviceCalls());
      Verdict v = Verdict.of(run, declared);
      if (run.isClean()) {
        clean++;
      }
      long s = seed;
      v.races().keySet().forEach(r -> races.putIfAbsent(r.name(), s));
      if (!v.passed()) {
        failure = Optional.of(undeclared(runner, v, declared));
        break;
      }
    }
    return new ScenarioResult(
        factory.name(),
        variant,
        scenario.name(),
        firstSeed,
        ran,
        clean,
        races,
        failure,
        calls.snapshot(),
        Duration.ofNanos(System.nanoTime() - t0));
  }

  /**
   * Searches for a declared race in one of its scenarios: sweeps the scenario from the options'
   * first seed until a run shows the race, within the options' race budget.
   *
   * @param factory the driver
   * @param variant the variant that declares it
   * @param race one of {@code factory.declaredRaces(variant)}
   * @param scenarioName one of the race's scenarios
   * @return the result
   * @throws IllegalArgumentException if the race does not name that scenario, or it is unknown
   */
  public RaceResult findRace(
      DriverFactory factory, DriverVariant variant, DeclaredRace race, String scenarioName) {
    if (!race.exposedBy(scenarioName)) {
      throw new IllegalArgumentException(
          "race " + race.name() + " names " + race.scenarios() + ", not " + scenarioName);
    }
    long t0 = System.nanoTime();
    Scenario scenario = Scenarios.byName(scenarioName);
    ScenarioRunner runner = new ScenarioRunner(factory, variant);
    List<DeclaredRace> declared = factory.declaredRaces(variant);
    Optional<UndeclaredFailure> undeclared = Optional.empty();
    int tried = 0;
    for (long seed = options.firstSeed(); tried < options.raceSeeds(); seed++) {
      ScenarioRun run = runner.run(scenario, seed);
      tried++;
      Verdict v = Verdict.of(run, declared);
      if (!v.passed() && undeclared.isEmpty()) {
        undeclared = Optional.of(undeclared(runner, v, declared));
      }
      if (v.shows(race)) {
        Optional<ShrunkSchedule> shrunk =
            options.shrinkRaces() && options.shrinkAttempts() > 0
                ? shrink(runner, run, r -> Verdict.of(r, declared).shows(race))
                : Optional.empty();
        return new RaceResult(
            factory.name(),
            variant,
            race,
            scenarioName,
            options.firstSeed(),
            options.raceSeeds(),
            OptionalLong.of(seed),
            tried,
            Optional.of(v),
            shrunk,
            undeclared,
            Duration.ofNanos(System.nanoTime() - t0));
      }
    }
    return new RaceResult(
        factory.name(),
        variant,
        race,
        scenarioName,
        options.firstSeed(),
        options.raceSeeds(),
        OptionalLong.empty(),
        tried,
        Optional.empty(),
        Optional.empty(),
        undeclared,
        Duration.ofNanos(System.nanoTime() - t0));
  }

  /**
   * Runs the real-thread stress run of the options' size, seeded by the options' first seed.
   *
   * @param factory the driver
   * @param variant one of its variants
   * @return the result
   */
  public StressResult stress(DriverFactory factory, DriverVariant variant) {
    return new StressRun(
            factory, variant, options.firstSeed(), options.stressOps(), options.stressTimeout())
        .run();
  }

  /**
   * Runs everything the options select for one driver: every scenario × variant, every declared
   * race, a stress run per variant (unless the options' stress size is 0).
   *
   * @param factory the driver
   * @return the report
   */
  public ConformanceReport runAll(DriverFactory factory) {
    ConformanceReport report = new ConformanceReport();
    List<String> contract = checkContract(factory);
    if (!contract.isEmpty()) {
      throw new IllegalArgumentException(
          "driver " + factory.name() + " breaks the SPI contract: " + contract);
    }
    for (DriverVariant v : variants(factory)) {
      for (Scenario s : scenarios()) {
        report.add(run(factory, v, s));
      }
    }
    for (DriverVariant v : variants(factory)) {
      for (DeclaredRace r : factory.declaredRaces(v)) {
        for (String s : r.scenarios()) {
          if (options.runs(s)) {
            report.add(findRace(factory, v, r, s));
          }
        }
      }
    }
    if (options.stressOps() > 0) {
      for (DriverVariant v : variants(factory)) {
        report.add(stress(factory, v));
      }
    }
    return report;
  }

  /**
   * Returns the variants of a driver the options select, in declaration order.
   *
   * @param factory the driver
   * @return the variants
   */
  public List<DriverVariant> variants(DriverFactory factory) {
    List<DriverVariant> out = new ArrayList<>();
    for (DriverVariant v : DriverVariant.values()) {
      if (factory.variants().contains(v) && options.runs(v)) {
        out.add(v);
      }
    }
    return out;
  }

  /**
   * Returns the scenarios the options select, in library order.
   *
   * @return the scenarios
   */
  public List<Scenario> scenarios() {
    return Scenarios.all().stream().filter(s -> options.runs(s.name())).toList();
  }

  /**
   * Checks a driver's metadata against the SPI contract: a non-blank name, a family and a model, a
   * consolidated variant, no race declared for it, every declared race naming known scenarios and
   * declared once (one name per variant), and {@code declaredRaces} rejecting a variant the driver
   * does not have.
   *
   * @param factory the driver
   * @return the problems found, empty if none
   */
  public static List<String> checkContract(DriverFactory factory) {
    List<String> problems = new ArrayList<>();
    if (factory.name() == null || factory.name().isBlank()) {
      problems.add("name() is blank");
    }
    if (factory.family() == null) {
      problems.add("family() is null");
    }
    if (factory.model() == null) {
      problems.add("model() is null");
    }
    Set<DriverVariant> variants = factory.variants();
    if (variants == null || !variants.contains(DriverVariant.CONSOLIDATED)) {
      problems.add("variants() " + variants + " lacks CONSOLIDATED");
      return problems;
    }
    if (!factory.declaredRaces(DriverVariant.CONSOLIDATED).isEmpty()) {
      problems.add(
          "the consolidated variant declares races "
              + factory.declaredRaces(DriverVariant.CONSOLIDATED)
              + "; it must be clean");
    }
    for (DriverVariant v : variants) {
      Set<String> seen = new HashSet<>();
      for (DeclaredRace r : factory.declaredRaces(v)) {
        for (String s : r.scenarios()) {
          if (!Scenarios.names().contains(s)) {
            problems.add(
                v
                    + " race "
                    + r.name()
                    + " names unknown scenario '"
                    + s
                    + "'; known: "
                    + Scenarios.names());
          }
        }
        if (!seen.add(r.name())) {
          problems.add(
              v + " declares race " + r.name() + " twice; declare it once with all its scenarios");
        }
      }
    }
    for (DriverVariant v : DriverVariant.values()) {
      if (!variants.contains(v)) {
        try {
          factory.declaredRaces(v);
          problems.add("declaredRaces(" + v + ") accepts a variant the driver does not have");
        } catch (IllegalArgumentException expected) {
          // as the SPI says
        }
      }
    }
    return problems;
  }

  private UndeclaredFailure undeclared(
      ScenarioRunner runner, Verdict found, List<DeclaredRace> declared) {
    Verdict v = Verdict.of(runner.withWholeCheckerTraces(found.run()), declared);
    return new UndeclaredFailure(
        v, shrink(runner, v.run(), r -> v.failsLike(Verdict.of(r, declared))));
  }

  private Optional<ShrunkSchedule> shrink(
      ScenarioRunner runner,
      ScenarioRun run,
      java.util.function.Predicate<ScenarioRun> stillFails) {
    if (options.shrinkAttempts() == 0) {
      return Optional.empty();
    }
    try {
      return Optional.of(runner.shrink(run, stillFails, options.shrinkAttempts()));
    } catch (IllegalArgumentException notReproduced) {
      return Optional.empty(); // a failure that depends on real time cannot be shrunk
    }
  }
}
