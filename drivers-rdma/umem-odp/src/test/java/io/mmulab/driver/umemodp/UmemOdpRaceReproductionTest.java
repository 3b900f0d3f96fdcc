package io.mmulab.driver.umemodp;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
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
 * conformance suite does) at which the legacy port shows it, hard-coded; its schedule shrunk and
 * printed; the same choice list replayed on the consolidated variant, which finishes clean.
 */
class UmemOdpRaceReproductionTest {
  /** First failing seed of the nested-invalidation deadlock. */
  static final long DEADLOCK_SEED = 63;

  /** Replays the shrinker may spend. */
  private static final int SHRINK_ATTEMPTS = 120;

  private static final Map<String, Long> PINNED_SEEDS =
      Map.of(
          UmemOdpFactory.NESTED_INVALIDATION_DEADLOCK.name()
              + " ("
              + UmemOdpFactory.DEADLOCK_SCENARIO
              + ")",
          DEADLOCK_SEED);

  private final UmemOdpFactory factory = new UmemOdpFactory();

  /** The run shows the race, and nothing the race does not declare. */
  private static Predicate<ScenarioRun> shows(DeclaredRace race) {
    return run ->
        !run.violations().isEmpty()
            && run.violations().stream().allMatch(v -> race.kinds().contains(v.kind()));
  }

  static Stream<RaceScenario> races() {
    return RaceScenario.of(new UmemOdpFactory().declaredRaces(DriverVariant.LEGACY));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("races")
  void legacyRace_pinnedSeed_failsAndIsCleanOnConsolidated(RaceScenario rs) {
    assertThat(PINNED_SEEDS).as("pinned seed for %s", rs).containsKey(rs.toString());
    long seed = PINNED_SEEDS.get(rs.toString());
    Scenario scenario = Scenarios.byName(rs.scenario());
    Predicate<ScenarioRun> fails = shows(rs.race());
    ScenarioRunner legacy = new ScenarioRunner(factory, DriverVariant.LEGACY);
    ScenarioRun failing = legacy.run(scenario, seed);
    System.out.printf(
        "umem-odp/LEGACY race %s (%s), pinned seed %d: %s%n",
        rs.race().name(), scenario.name(), seed, failing);
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

  @Test
  void deadlock_reportNamesTheCycleThroughTheQueuedRegistration() {
    ScenarioRun run =
        new ScenarioRunner(factory, DriverVariant.LEGACY)
            .run(Scenarios.byName(UmemOdpFactory.DEADLOCK_SCENARIO), DEADLOCK_SEED);

    assertThat(run.outcome()).isEqualTo(Outcome.DEADLOCK);
    assertThat(run.violations())
        .singleElement()
        .extracting(v -> v.kind())
        .isEqualTo(ViolationKind.DEADLOCK);
    assertThat(run.violations().get(0).message())
        .contains("a cycle of waits: zap → register → zap")
        .contains("zap waits for rwsem app#1.umem_rwsem (read), held for read by zap")
        .contains("writer(s) waiting: register");
  }

  @Test
  void legacy_seedsBeforeThePinnedOne_showNoRace() {
    ScenarioRunner legacy = new ScenarioRunner(factory, DriverVariant.LEGACY);
    Scenario scenario = Scenarios.byName(UmemOdpFactory.DEADLOCK_SCENARIO);
    for (long seed = 1; seed < DEADLOCK_SEED; seed++) {
      assertThat(legacy.run(scenario, seed).violations()).as("seed %d", seed).isEmpty();
    }
  }
}
