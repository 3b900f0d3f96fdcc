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
 * <p>An undeclared failure reports its seed, the properties that replay it ({@code -Dmmulab.seed=S
 * -Dmmulab.seeds=1 -Dmmulab.scenario=… -Dmmulab.variant=…}), the violation with the checker's
 * trace, the tail of the schedule and the schedule shrunk to the preemptions the failure needs. The
 * results are collected in {@link #report()} and printed after the last test.
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
    return ConformanceTests.forDriver(factory(), options(), report);
  }

  /** Prints the report. */
  @AfterAll
  void printReport() {
    System.out.print(report.render());
  }
}
