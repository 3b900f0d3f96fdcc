package io.mmulab.testkit;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The search for one declared race in one of its scenarios: the scenario swept from the first seed
 * until the race shows up or the budget is spent.
 *
 * @param driver the driver's name
 * @param variant the variant that declares the race
 * @param race the race
 * @param scenario the scenario searched, one of the race's
 * @param firstSeed the first seed tried
 * @param budget the most seeds the race may take
 * @param foundAtSeed the seed it showed up at, if it did
 * @param seedsTried how many seeds ran (up to and including the finding)
 * @param finding the run that showed it, judged
 * @param shrunk the finding's schedule made smaller, if asked for
 * @param undeclared an undeclared failure met on the way, if any (it fails the search too)
 * @param elapsed wall-clock time of the search
 */
public record RaceResult(
    String driver,
    DriverVariant variant,
    DeclaredRace race,
    String scenario,
    long firstSeed,
    int budget,
    OptionalLong foundAtSeed,
    int seedsTried,
    Optional<Verdict> finding,
    Optional<ShrunkSchedule> shrunk,
    Optional<UndeclaredFailure> undeclared,
    Duration elapsed) {

  /**
   * Tells whether the race showed up within the budget.
   *
   * @return true if found
   */
  public boolean found() {
    return foundAtSeed.isPresent();
  }

  /**
   * Tells whether the race was found and nothing undeclared was met.
   *
   * @return true if passed
   */
  public boolean passed() {
    return found() && undeclared.isEmpty();
  }

  /**
   * The line the suite prints: {@code race R of driver D/V found at seed S after K seeds}.
   *
   * @return the message
   */
  public String message() {
    String who = "race " + race.name() + " (" + scenario + ") of driver " + driver + "/" + variant;
    return found()
        ? who + " found at seed " + foundAtSeed.getAsLong() + " after " + seedsTried + " seeds"
        : who
            + " NOT found in "
            + seedsTried
            + " seeds from "
            + firstSeed
            + " (budget "
            + budget
            + ", -Dmmulab.raceSeeds=N to change)";
  }
}
