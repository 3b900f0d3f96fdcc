package io.mmulab.testkit;

import io.mmulab.api.driver.DriverVariant;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * A sweep of one scenario over a range of seeds for one driver variant. The sweep stops at the
 * first undeclared failure.
 *
 * @param driver the driver's name
 * @param variant the variant
 * @param scenario the scenario's name
 * @param firstSeed the first seed
 * @param seedsRun how many seeds ran
 * @param cleanSeeds how many of them showed nothing at all
 * @param racesFound each declared race that showed up, by name, with the first seed it showed at
 * @param failure the first undeclared failure, if any
 * @param deviceCalls how the scenario's device calls ended, summed over the seeds
 * @param elapsed wall-clock time of the sweep
 */
public record ScenarioResult(
    String driver,
    DriverVariant variant,
    String scenario,
    long firstSeed,
    int seedsRun,
    int cleanSeeds,
    Map<String, Long> racesFound,
    Optional<UndeclaredFailure> failure,
    Map<String, Long> deviceCalls,
    Duration elapsed) {

  /** Copies. */
  public ScenarioResult {
    racesFound = Map.copyOf(racesFound);
    deviceCalls = Map.copyOf(deviceCalls);
  }

  /**
   * Tells whether no seed failed in an undeclared way.
   *
   * @return true if passed
   */
  public boolean passed() {
    return failure.isEmpty();
  }

  /**
   * One line for logs and reports.
   *
   * @return the summary
   */
  public String summary() {
    return String.format(
        "%s/%s %s: %s, %d seed(s) from %d, %d clean%s, %d ms",
        driver,
        variant,
        scenario,
        passed() ? "passed" : "FAILED at seed " + failure.get().seed(),
        seedsRun,
        firstSeed,
        cleanSeeds,
        racesFound.isEmpty() ? "" : ", declared races shown " + racesFound,
        elapsed.toMillis());
  }
}
