package io.mmulab.testkit;

import io.mmulab.api.driver.DriverFactory;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * The conformance suite every driver runs: extend it with a one-line factory.
 *
 * <pre>{@code
 * class I915ConformanceTest extends DriverConformanceSuite {
 *   @Override
 *   protected DriverFactory factory() {
 *     return new I915Driver();
 *   }
 * }
 * }</pre>
 *
 * <p>For every variant × scenario it runs a seed budget (20 by default, {@code -Dmmulab.seeds=N})
 * under the deterministic runtime with the coherency checker: the consolidated variant must be
 * clean, other variants may show only their declared races. Each declared race gets its own test,
 * which sweeps its scenario until the race shows (200 seeds at most by default, {@code
 * -Dmmulab.raceSeeds=N}) and prints {@code race R of driver D/V found at seed S after K seeds}. A
 * short real-thread stress run per variant closes it. See {@link ConformanceOptions} for every
 * property, and {@link ConformanceTests} for the tests it generates.
 *
 * <p>An undeclared failure reports its seed, the command that replays it ({@code mvn -B test -pl
 * <module> -am … -Dtest=<this class> -Dmmulab.replay=<variant>:<scenario>:<seed>}, see {@link
 * ReplayCommand}), the violation with the checker's trace, the schedule around it and the schedule
 * shrunk to the preemptions the failure needs. The results are collected in {@link #report()} and
 * printed after the last test.
 *
 * <p>With {@code -Dmmulab.replay=<variant>:<scenario>:<seed>} ({@link SeedReplay}) the suite runs
 * that one run only — no sweep, no shrinking, no declared-race search, no stress — and prints it
 * whole.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class DriverConformanceSuite {
  private final ConformanceReport report = new ConformanceReport();

  /** For subclasses. */
  protected DriverConformanceSuite() {}

  /**
   * Returns the driver under test.
   *
   * @return its factory
   */
  protected abstract DriverFactory factory();

  /**
   * Returns the budgets and filters; by default those of the {@code -Dmmulab.*} properties.
   *
   * @return the options
   */
  protected ConformanceOptions options() {
    return ConformanceOptions.fromSystemProperties();
  }

  /**
   * Returns what the tests found so far.
   *
   * @return the report
   */
  protected final ConformanceReport report() {
    return report;
  }

  /**
   * The conformance tests of {@link #factory()}.
   *
   * @return the dynamic tests
   */
  @TestFactory
  Stream<DynamicNode> conformance() {
    ReplayCommand command = ReplayCommand.of(getClass());
    return SeedReplay.fromSystemProperties()
        .map(r -> ConformanceTests.replay(factory(), r, report, command))
        .orElseGet(() -> ConformanceTests.forDriver(factory(), options(), report, command));
  }

  /** Prints the report. */
  @AfterAll
  void printReport() {
    System.out.print(report.render());
  }
}
