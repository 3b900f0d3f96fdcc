package io.mmulab.driver.nouveau;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.testkit.RaceScenario;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each declared legacy race as a pinned schedule: the first seed (sweeping 1, 2, … as the
 * conformance suite does, with the scenario runner's {@code Simulation}) at which the legacy port
 * shows it, hard-coded; its schedule shrunk with {@code Shrinker} and printed; the same choice list
 * replayed on the consolidated variant, clean.
 */
class NouveauRaceReproductionTest {
  /** First failing seed of {@link NouveauFactory#VALID_FLAG_RESET} in overlapping-invalidations. */
  static final long OVERLAPPING_SEED = 49;

  /** First failing seed of the race in munmap-vs-fault (a copy-on-write fault). */
  static final long COW_SEED = 7;

  /** First failing seed of the race in migrate-during-dma. */
  static final long MIGRATE_SEED = 49;

  /** First failing seed of the race in munmap-zap-vs-fault. */
  static final long ZAP_SEED = 397;

  /** First failing seed of the race in remap-while-cached. */
  static final long REMAP_SEED = 307;

  /** Replays the shrinker may spend. */
  private static final int SHRINK_ATTEMPTS = 120;

  private final NouveauFactory factory = new NouveauFactory();

  /** The run shows the race, and nothing the race does not declare. */
  private static Predicate<ScenarioRun> shows(DeclaredRace race) {
    return run ->
        !run.violations().isEmpty()
            && run.violations().stream().allMatch(v -> race.kinds().contains(v.kind()));
  }

  private void reproduceAndReplayOnConsolidated(DeclaredRace race, String name, long seed) {
    Scenario scenario = Scenarios.byName(name);
    Predicate<ScenarioRun> fails = shows(race);
    ScenarioRunner legacy = new ScenarioRunner(factory, DriverVariant.LEGACY);
    ScenarioRun failing = legacy.run(scenario, seed);
    System.out.printf(
        "nouveau/LEGACY race %s (%s), pinned seed %d: %s%n",
        race.name(), scenario.name(), seed, failing);
    assertThat(fails.test(failing)).as("seed %d:%n%s", seed, failing.describe(40)).isTrue();
    assertThat(fails.test(legacy.replay(failing))).as("same seed, same schedule").isTrue();

    ShrunkSchedule shrunk = legacy.shrink(failing, fails, SHRINK_ATTEMPTS);
    System.out.println(shrunk.describe());
    SchedulerConfig config = legacy.config(scenario, seed);
    ScenarioRun again = legacy.replay(scenario, config, shrunk.choiceArray());
    assertThat(fails.test(again)).as("legacy replay of the shrunk schedule").isTrue();
    System.out.println("  legacy replay of the shrunk schedule: " + again.violations().get(0));

    ScenarioRunner consolidated = new ScenarioRunner(factory, DriverVariant.CONSOLIDATED);
    for (int[] choices : new int[][] {shrunk.choiceArray(), failing.result().choiceArray()}) {
      ScenarioRun safe = consolidated.replay(scenario, config, choices);
      System.out.println("  same " + choices.length + " choices on CONSOLIDATED: " + safe);
      assertThat(safe.outcome()).as(safe.describe(40)).isEqualTo(Outcome.OK);
      assertThat(safe.isClean()).as(safe.describe(40)).isTrue();
    }
  }

  /** (race, scenario) → first failing seed of the race there. */
  private static final Map<String, Long> PINNED_SEEDS =
      Map.of(
          NouveauFactory.RACE_NAME + " (" + NouveauFactory.RACE_SCENARIO + ")", OVERLAPPING_SEED,
          NouveauFactory.RACE_NAME + " (" + NouveauFactory.COW_RACE_SCENARIO + ")", COW_SEED,
          NouveauFactory.RACE_NAME + " (migrate-during-dma)", MIGRATE_SEED,
          NouveauFactory.RACE_NAME + " (munmap-zap-vs-fault)", ZAP_SEED,
          NouveauFactory.RACE_NAME + " (remap-while-cached)", REMAP_SEED);

  /** Every declared legacy race in every scenario, so none can go without its reproduction. */
  static Stream<RaceScenario> races() {
    return RaceScenario.of(new NouveauFactory().declaredRaces(DriverVariant.LEGACY));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("races")
  void legacyRace_pinnedSeed_failsAndIsCleanOnConsolidated(RaceScenario rs) {
    assertThat(PINNED_SEEDS).as("pinned seed for %s", rs).containsKey(rs.toString());
    reproduceAndReplayOnConsolidated(rs.race(), rs.scenario(), PINNED_SEEDS.get(rs.toString()));
  }

  @Test
  void legacy_seedsBeforeThePinnedOne_showNoRace() {
    ScenarioRunner legacy = new ScenarioRunner(factory, DriverVariant.LEGACY);
    Scenario scenario = Scenarios.byName(NouveauFactory.COW_RACE_SCENARIO);
    for (long seed = 1; seed < COW_SEED; seed++) {
      assertThat(legacy.run(scenario, seed).violations()).as("seed %d", seed).isEmpty();
    }
  }
}
