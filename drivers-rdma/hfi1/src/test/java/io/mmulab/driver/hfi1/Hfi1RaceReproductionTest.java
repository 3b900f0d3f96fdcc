package io.mmulab.driver.hfi1;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One deterministic reproduction per declared race and variant: the pinned seed (the first seed of
 * the scenario, swept from 1, whose violations show that race by {@link Hfi1Races#classify}), the
 * schedule shrunk to the preemptions the race needs (printed), and the run's choice list replayed
 * on the consolidated variant, which stays clean.
 *
 * <p>The consolidated replay takes the whole recorded list, not the shrunk one: a shrunk list ends
 * in the sticky continuation (stay on the running thread), and hfi1's sends and receives never
 * block when their pages are cached, so the device thread would keep a CPU thread that is still
 * counting down its start delay off the processor until the step limit.
 */
class Hfi1RaceReproductionTest {
  /** Replays spent shrinking each schedule; keeps the class fast. */
  private static final int SHRINK_ATTEMPTS = 40;

  private static final Hfi1Factory FACTORY = new Hfi1Factory();

  private static final String OVERLAPPING = "overlapping-invalidations";

  static Stream<Arguments> races() {
    return Stream.of(
        race(DriverVariant.LEGACY, Hfi1Factory.TID_NOTIFY_ONLY, "remap-while-cached", 1),
        race(DriverVariant.LEGACY, Hfi1Factory.TID_PIN_BEFORE_INSERT, OVERLAPPING, 2),
        race(DriverVariant.LEGACY, Hfi1Factory.SDMA_IN_USE_NODE, "munmap-vs-fault", 2),
        race(DriverVariant.LEGACY, Hfi1Factory.SDMA_PIN_BEFORE_INSERT, "oom-reap-during-fault", 16),
        race(DriverVariant.AS_MERGED, Hfi1Factory.TID_NOTIFY_ONLY, "remap-while-cached", 1),
        race(DriverVariant.AS_MERGED, Hfi1Factory.TID_PIN_BEFORE_INSERT, OVERLAPPING, 1),
        race(DriverVariant.AS_MERGED, Hfi1Factory.SDMA_IN_USE_NODE, "munmap-vs-fault", 2),
        race(DriverVariant.AS_MERGED, Hfi1Factory.SDMA_PIN_BEFORE_INSERT, "munmap-vs-fault", 1),
        // found when the scenarios of the other new drivers joined the library
        race(DriverVariant.LEGACY, Hfi1Factory.SDMA_IN_USE_NODE, "vma-split-under-grant", 33),
        race(DriverVariant.AS_MERGED, Hfi1Factory.SDMA_IN_USE_NODE, "vma-split-under-grant", 33),
        race(DriverVariant.LEGACY, Hfi1Factory.SDMA_IN_USE_NODE, NESTED, 57),
        race(DriverVariant.AS_MERGED, Hfi1Factory.SDMA_PIN_BEFORE_INSERT, NESTED, 71));
  }

  private static final String NESTED = "nested-invalidation-vs-register";

  private static Arguments race(DriverVariant v, DeclaredRace race, String scenario, long seed) {
    return Arguments.of(v, race, scenario, seed);
  }

  private static boolean shows(ScenarioRun run, DeclaredRace race) {
    return run.violations().stream().anyMatch(v -> Hfi1Races.classify(v).equals(race.name()));
  }

  @ParameterizedTest(name = "{0} {1} in {2}, seed {3}")
  @MethodSource("races")
  void declaredRace_reproducesAtPinnedSeed_andShrunkScheduleIsCleanOnConsolidated(
      DriverVariant variant, DeclaredRace race, String scenarioName, long seed) {
    assertThat(FACTORY.declaredRaces(variant)).contains(race);
    assertThat(race.exposedBy(scenarioName)).isTrue();
    ScenarioRunner racy = new ScenarioRunner(FACTORY, variant);
    var scenario = Scenarios.byName(scenarioName);
    System.out.printf(
        "race %s (%s/%s), pinned seed %d%n", race.name(), variant, scenarioName, seed);

    ScenarioRun run = racy.run(scenario, seed);
    Verdict verdict = Verdict.of(run, FACTORY.declaredRaces(variant));
    assertThat(shows(run, race)).as(run.describe(20)).isTrue();
    assertThat(verdict.passed()).as(verdict.summary()).isTrue();
    // Deterministic: the same seed replays to the same race.
    assertThat(shows(racy.replay(run), race)).isTrue();

    ShrunkSchedule shrunk = racy.shrink(run, r -> shows(r, race), SHRINK_ATTEMPTS);
    System.out.printf(
        "  shrunk %d -> %d choices in %d replays: %s%n  %s%n",
        shrunk.originalLength(),
        shrunk.choices().size(),
        shrunk.attempts(),
        shrunk.choices(),
        shrunk.run().violations().stream()
            .filter(v -> Hfi1Races.classify(v).equals(race.name()))
            .findFirst()
            .orElseThrow()
            .summary());
    assertThat(shows(shrunk.run(), race)).isTrue();

    ScenarioRunner consolidated = new ScenarioRunner(FACTORY, DriverVariant.CONSOLIDATED);
    ScenarioRun safe =
        consolidated.replay(scenario, run.result().config(), run.result().choiceArray());
    System.out.printf(
        "  same choices on CONSOLIDATED: %s, %d violation(s)%n",
        safe.outcome(), safe.violationCount());
    assertThat(safe.outcome()).isEqualTo(Outcome.OK);
    assertThat(safe.violations()).isEmpty();
    assertThat(consolidated.run(scenario, seed).violations()).isEmpty();
  }
}
