package io.mmulab.testkit;

import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.DynamicNode;

/**
 * The conformance checks of one driver as JUnit 5 dynamic tests, for {@link DriverConformanceSuite}
 * and for test classes that run many drivers (the integration tests):
 *
 * <ul>
 *   <li>{@code contract}: the factory's metadata ({@link ConformanceRunner#checkContract});
 *   <li>one container per variant, one test per scenario: the sweep over the seed budget;
 *   <li>{@code declared races}: one test per declared race, which must show up within its budget;
 *   <li>{@code stress}: one real-thread run per variant.
 * </ul>
 *
 * <p>Each test adds its result to a {@link ConformanceReport} and prints a line; a failure message
 * holds the seed, the command that replays it ({@link ReplayCommand}, {@link SeedReplay}), the
 * violation with its trace and the shrunk schedule.
 */
public final class ConformanceTests {
  private ConformanceTests() {}

  /**
   * Returns the dynamic tests of one driver, whose failures print the replay command of the class
   * that calls this method.
   *
   * @param factory the driver
   * @param options budgets and filters
   * @param report where results go
   * @return the nodes, built lazily (nothing runs until JUnit executes a test)
   */
  public static Stream<DynamicNode> forDriver(
      DriverFactory factory, ConformanceOptions options, ConformanceReport report) {
    Class<?> caller =
        StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE).getCallerClass();
    return forDriver(factory, options, report, ReplayCommand.of(caller));
  }

  /**
   * Returns the dynamic tests of one driver, whose failures print {@code command} to replay them;
   * with {@code -Dmmulab.replay} set ({@link SeedReplay}), only the replay of that seed, if the
   * driver has that variant.
   *
   * @param factory the driver
   * @param options budgets and filters
   * @param report where results go
   * @param command how to rerun the test class these tests belong to
   * @return the nodes, built lazily (nothing runs until JUnit executes a test)
   */
  public static Stream<DynamicNode> forDriver(
      DriverFactory factory,
      ConformanceOptions options,
      ConformanceReport report,
      ReplayCommand command) {
    Objects.requireNonNull(factory, "factory is null");
    Objects.requireNonNull(command, "command is null");
    Optional<SeedReplay> seedReplay = SeedReplay.fromSystemProperties();
    if (seedReplay.isPresent()) { // a class of many drivers replays the seed on each that can
      return factory.variants().contains(seedReplay.get().variant())
          ? replay(factory, seedReplay.get(), report, command)
          : Stream.empty();
    }
    ConformanceRunner runner = new ConformanceRunner(options);
    List<DynamicNode> nodes = new ArrayList<>();
    nodes.add(dynamicTest("contract", () -> contract(factory)));
    List<DriverVariant> variants = runner.variants(factory);
    for (DriverVariant v : variants) {
      List<DynamicNode> tests = new ArrayList<>();
      for (Scenario s : runner.scenarios()) {
        tests.add(dynamicTest(s.name(), () -> scenario(runner, factory, v, s, report, command)));
      }
      nodes.add(dynamicContainer(v.toString(), tests));
    }
    List<DynamicNode> races = new ArrayList<>();
    for (DriverVariant v : variants) {
      for (DeclaredRace r : factory.declaredRaces(v)) {
        for (String sc : r.scenarios()) {
          if (options.runs(sc)) {
            races.add(
                dynamicTest(
                    v + " " + r.name() + " (" + sc + ")",
                    () -> race(runner, factory, v, r, sc, report, command)));
          }
        }
      }
    }
    if (!races.isEmpty()) {
      nodes.add(dynamicContainer("declared races", races));
    }
    if (options.stressOps() > 0) {
      List<DynamicNode> stress = new ArrayList<>();
      for (DriverVariant v : variants) {
        stress.add(dynamicTest(v.toString(), () -> stress(runner, factory, v, report)));
      }
      nodes.add(dynamicContainer("stress on real threads", stress));
    }
    return nodes.stream();
  }

  /**
   * Returns the one test of a seed replay: runs {@code replay}'s seed of its scenario on its
   * variant once — no sweep, no shrinking, no declared-race search, no stress — prints the run
   * whole (every violation's checker trace, the whole schedule trace), adds it to {@code report}
   * and fails if the run fails in a way no declared race covers.
   *
   * @param factory the driver
   * @param replay the run to replay
   * @param report where the result goes
   * @param command how to rerun the test class
   * @return the one test
   */
  public static Stream<DynamicNode> replay(
      DriverFactory factory, SeedReplay replay, ConformanceReport report, ReplayCommand command) {
    Objects.requireNonNull(factory, "factory is null");
    Objects.requireNonNull(replay, "replay is null");
    return Stream.of(
        dynamicTest(
            replay.variant() + " " + replay.scenario() + " seed " + replay.seed(),
            () -> replayOne(factory, replay, report, command)));
  }

  private static void replayOne(
      DriverFactory factory, SeedReplay replay, ConformanceReport report, ReplayCommand command) {
    if (!factory.variants().contains(replay.variant())) {
      Assertions.fail(
          replay.property()
              + ": driver "
              + factory.name()
              + " has no variant "
              + replay.variant()
              + ", only "
              + factory.variants());
    }
    long t0 = System.nanoTime();
    ScenarioRunner runner = new ScenarioRunner(factory, replay.variant());
    List<DeclaredRace> declared = factory.declaredRaces(replay.variant());
    ScenarioRun run =
        runner.withWholeCheckerTraces(
            runner.run(Scenarios.byName(replay.scenario()), replay.seed()));
    Verdict v = Verdict.of(run, declared);
    Map<String, Long> races = new LinkedHashMap<>();
    v.races().keySet().forEach(r -> races.put(r.name(), replay.seed()));
    ScenarioResult r =
        report.add(
            new ScenarioResult(
                factory.name(),
                replay.variant(),
                replay.scenario(),
                replay.seed(),
                1,
                run.isClean() ? 1 : 0,
                races,
                v.passed()
                    ? Optional.empty()
                    : Optional.of(new UndeclaredFailure(v, Optional.empty())),
                run.deviceCalls(),
                Duration.ofNanos(System.nanoTime() - t0)));
    System.out.println(r.summary());
    System.out.println(run.describe(run.result().trace().size()));
    r.failure()
        .ifPresent(
            f ->
                Assertions.fail(
                    "replay "
                        + factory.name()
                        + "/"
                        + replay.variant()
                        + " on "
                        + replay.scenario()
                        + ": "
                        + f.verdict().summary()
                        + "\nreplay: "
                        + command.line(replay.property())));
  }

  private static void contract(DriverFactory factory) {
    List<String> problems = ConformanceRunner.checkContract(factory);
    if (!problems.isEmpty()) {
      Assertions.fail(
          "driver "
              + factory.name()
              + " breaks the SPI contract:\n  "
              + String.join("\n  ", problems));
    }
  }

  private static void scenario(
      ConformanceRunner runner,
      DriverFactory factory,
      DriverVariant variant,
      Scenario scenario,
      ConformanceReport report,
      ReplayCommand command) {
    ScenarioResult r = report.add(runner.run(factory, variant, scenario));
    System.out.println(r.summary());
    r.failure()
        .ifPresent(
            f ->
                Assertions.fail(
                    factory.name()
                        + "/"
                        + variant
                        + " on "
                        + scenario.name()
                        + ": "
                        + f.message(command)));
  }

  private static void race(
      ConformanceRunner runner,
      DriverFactory factory,
      DriverVariant variant,
      DeclaredRace race,
      String scenario,
      ConformanceReport report,
      ReplayCommand command) {
    RaceResult r = report.add(runner.findRace(factory, variant, race, scenario));
    System.out.println(r.message());
    r.foundAtSeed()
        .ifPresent(
            seed ->
                System.out.println(
                    "  replay: "
                        + command.line(new SeedReplay(variant, scenario, seed).property())));
    r.shrunk().ifPresent(s -> System.out.println("  " + s.describe()));
    if (!r.found()) {
      Assertions.fail(r.message() + "\n  " + race.description());
    }
    r.undeclared()
        .ifPresent(
            f ->
                Assertions.fail(
                    "while searching for race "
                        + race.name()
                        + " in "
                        + scenario
                        + " of "
                        + factory.name()
                        + "/"
                        + variant
                        + ": "
                        + f.message(command)));
  }

  private static void stress(
      ConformanceRunner runner,
      DriverFactory factory,
      DriverVariant variant,
      ConformanceReport report) {
    StressResult r = report.add(runner.stress(factory, variant));
    System.out.print(r.message());
    if (!r.passed()) {
      Assertions.fail(r.message());
    }
  }
}
