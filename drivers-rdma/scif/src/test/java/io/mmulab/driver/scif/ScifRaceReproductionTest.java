package io.mmulab.driver.scif;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The pin-then-insert race reproduced in each scenario it is declared for: at its pinned seed (the
 * first seed, from 1, at which the suite's sweep shows it), again on replay, then with the schedule
 * shrunk to the preemptions it needs (printed); the shrunk choice list replayed on the consolidated
 * cache must run clean, and so must the pinned seed.
 */
class ScifRaceReproductionTest {
  /** Scenario → the first seed at which the legacy cache shows the race there. */
  static final Map<String, Long> FIRST_SEEDS =
      Map.of(
          "munmap-vs-fault", 3L,
          "overlapping-invalidations", 2L,
          "mprotect-during-write-fault", 3L,
          "migrate-during-dma", 4L,
          "oom-reap-during-fault", 2L,
          "munmap-zap-vs-fault", 27L,
          "remap-while-cached", 1L,
          "fork-cow-writable", 879L);

  private static final int SHRINK_ATTEMPTS = 40;
  private static final ScifFactory SCIF = new ScifFactory();
  private static final List<DeclaredRace> LEGACY_RACES = SCIF.declaredRaces(DriverVariant.LEGACY);

  static List<String> scenarios() {
    return ScifFactory.PIN_THEN_INSERT.scenarios();
  }

  private static boolean showsRace(ScenarioRun run) {
    return Verdict.of(run, LEGACY_RACES).shows(ScifFactory.PIN_THEN_INSERT);
  }

  @ParameterizedTest(name = "pin-then-insert in {0}")
  @MethodSource("scenarios")
  void pinThenInsert_atPinnedSeed_shrinks_andItsChoicesAreCleanOnConsolidated(String name) {
    assertThat(FIRST_SEEDS).as("a pinned seed for every declared scenario").containsKey(name);
    long seed = FIRST_SEEDS.get(name);
    Scenario scenario = Scenarios.byName(name);
    ScenarioRunner legacy = new ScenarioRunner(SCIF, DriverVariant.LEGACY);

    ScenarioRun run = legacy.run(scenario, seed);
    Verdict verdict = Verdict.of(run, LEGACY_RACES);
    assertThat(showsRace(run)).as(verdict.summary()).isTrue();
    assertThat(verdict.passed()).as(verdict.summary()).isTrue();
    assertThat(showsRace(legacy.replay(run))).as("seed %d replays to the race", seed).isTrue();

    ShrunkSchedule shrunk =
        legacy.shrink(run, ScifRaceReproductionTest::showsRace, SHRINK_ATTEMPTS);
    System.out.printf(
        "scif pin-then-insert in %s: seed %d, %d choices shrunk to %d (%d replays): %s%n  %s%n",
        name,
        seed,
        shrunk.originalLength(),
        shrunk.choices().size(),
        shrunk.attempts(),
        shrunk.choices(),
        Verdict.of(shrunk.run(), LEGACY_RACES).summary());
    assertThat(showsRace(shrunk.run())).isTrue();
    assertThat(shrunk.choices().size()).isLessThanOrEqualTo(shrunk.originalLength());

    ScenarioRunner consolidated = new ScenarioRunner(SCIF, DriverVariant.CONSOLIDATED);
    ScenarioRun same = consolidated.replay(scenario, run.result().config(), shrunk.choiceArray());
    System.out.printf(
        "  the same choices on CONSOLIDATED: %s, %d violation(s)%n",
        same.outcome(), same.violationCount());
    assertThat(same.outcome()).isEqualTo(Outcome.OK);
    assertThat(same.violations()).isEmpty();
    assertThat(consolidated.run(scenario, seed).violations()).isEmpty();
  }
}
