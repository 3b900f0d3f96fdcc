package io.mmulab.testkit;

import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.scenario.Scenario;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
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
 * holds the seed, the properties that replay it, the violation with its trace and the shrunk
 * schedule.
 */
public final class ConformanceTests {
  private ConformanceTests() {}

  /**
   * Returns the dynamic tests of one driver.
   *
   * @param factory the driver
   * @param options budgets and filters
   * @param report where results go
   * @return the nodes, built lazily (nothing runs until JUnit executes a test)
   */
  public static Stream<DynamicNode> forDriver(
      DriverFactory factory, ConformanceOptions options, ConformanceReport report) {
    Objects.requireNonNull(factory, "factory is null");
    ConformanceRunner runner = new ConformanceRunner(options);
    List<DynamicNode> nodes = new ArrayList<>();
    nodes.add(dynamicTest("contract", () -> contract(factory)));
    List<DriverVariant> variants = runner.variants(factory);
    for (DriverVariant v : variants) {
      List<DynamicNode> tests = new ArrayList<>();
      for (Scenario s : runner.scenarios()) {
        tests.add(dynamicTest(s.name(), () -> scenario(runner, factory, v, s, report)));
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
                    () -> race(runner, factory, v, r, sc, report)));
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
      ConformanceReport report) {
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
                        + f.message()));
  }

  private static void race(
      ConformanceRunner runner,
      DriverFactory factory,
      DriverVariant variant,
      DeclaredRace race,
      String scenario,
      ConformanceReport report) {
    RaceResult r = report.add(runner.findRace(factory, variant, race, scenario));
    System.out.println(r.message());
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
                        + f.message()));
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
