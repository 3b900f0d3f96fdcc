package io.mmulab.driver.gntdev;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Each finding of the grant device reproduced from its pinned seed (the first failing seed of a
 * sweep from seed 1), its schedule shrunk to the preemptions it needs and printed, and the same
 * choices replayed on the consolidated variant, which stays clean; and the consolidated and legacy
 * variants clean on the cross-driver scenario over a sweep ({@code -Dgntdev.crossSeeds=N}, 100 by
 * default).
 */
class GntdevRaceReproductionTest {
  /** First failing seed of the 5.5 driver's double unmap in {@code overlapping-invalidations}. */
  static final long DOUBLE_UNMAP_SEED = 1;

  /** First failing seed of the synchronous unmap's deadlock in {@code cross-driver-deadlock}. */
  static final long DEADLOCK_SEED = 1;

  private static final int SHRINK_ATTEMPTS = 40;
  private static final int CROSS_SEEDS = Integer.getInteger("gntdev.crossSeeds", 100);
  private static final GntdevFactory FACTORY = new GntdevFactory();

  /**
   * Runs the finding at its seed, shrinks it, replays the choices on CONSOLIDATED; the shrunk run.
   */
  private static ScenarioRun reproduce(
      DeclaredRace race, Scenario scenario, DriverVariant variant, long seed) {
    List<DeclaredRace> declared = List.of(race);
    ScenarioRunner racy = new ScenarioRunner(FACTORY, variant);
    ScenarioRun run = racy.run(scenario, seed);
    System.out.printf(
        "%s (%s/%s), pinned seed %d: %s%n",
        race.name(), variant, scenario.name(), seed, Verdict.of(run, declared).summary());
    assertThat(Verdict.of(run, declared).shows(race)).as(run.describe(40)).isTrue();
    assertThat(Verdict.of(run, declared).passed()).isTrue();
    assertThat(Verdict.of(racy.replay(run), declared).shows(race)).as("deterministic").isTrue();

    ShrunkSchedule shrunk =
        racy.shrink(run, r -> Verdict.of(r, declared).shows(race), SHRINK_ATTEMPTS);
    System.out.printf("  shrunk: %s%n", shrunk.describe());
    assertThat(Verdict.of(shrunk.run(), declared).shows(race)).isTrue();

    ScenarioRunner fixed = new ScenarioRunner(FACTORY, DriverVariant.CONSOLIDATED);
    ScenarioRun same = fixed.replay(scenario, run.result().config(), shrunk.choiceArray());
    System.out.printf(
        "  same choices on CONSOLIDATED: %s, %d violation(s)%n",
        same.outcome(), same.violationCount());
    assertThat(same.outcome()).as(same.describe(40)).isEqualTo(Outcome.OK);
    assertThat(same.violations()).isEmpty();
    assertThat(fixed.run(scenario, seed).violations()).isEmpty();
    return shrunk.run();
  }

  @Test
  void asMerged_doubleUnmap_reproducesAtPinnedSeed_andIsCleanOnConsolidated() {
    ScenarioRun shrunk =
        reproduce(
            GntdevFactory.DOUBLE_UNMAP,
            Scenarios.byName(Scenarios.OVERLAPPING_INVALIDATIONS),
            DriverVariant.AS_MERGED,
            DOUBLE_UNMAP_SEED);
    assertThat(shrunk.violations(ViolationKind.LIFETIME))
        .anyMatch(v -> v.message().contains("which is not mapped"));
  }

  @Test
  void asMerged_syncUnmapDeadlock_reportsTheCycle_andIsCleanOnConsolidated() {
    ScenarioRun shrunk =
        reproduce(
            GntdevFactory.SYNC_UNMAP_DEADLOCK,
            new CrossDriverDeadlock(),
            DriverVariant.AS_MERGED,
            DEADLOCK_SEED);
    assertThat(shrunk.outcome()).isEqualTo(Outcome.DEADLOCK);
    String cycle = shrunk.violations(ViolationKind.DEADLOCK).get(0).message();
    System.out.println("  the scheduler's report:\n" + cycle);
    assertThat(cycle)
        .contains("munmap waits for wait queue xen.pages-released")
        .contains("gpu waits for wait queue app#1.notifier_subscriptions.wq")
        .contains("main waits for thread munmap");
  }

  @Test
  void crossDriverScenario_legacyAndConsolidated_areClean() {
    for (DriverVariant v : List.of(DriverVariant.LEGACY, DriverVariant.CONSOLIDATED)) {
      ScenarioRunner runner = new ScenarioRunner(FACTORY, v);
      for (long seed = 1; seed <= CROSS_SEEDS; seed++) {
        ScenarioRun run = runner.run(new CrossDriverDeadlock(), seed);
        assertThat(run.violations()).as("%s seed %d: %s", v, seed, run.describe(40)).isEmpty();
        assertThat(run.outcome()).isEqualTo(Outcome.OK);
      }
      System.out.printf("%s cross-driver-deadlock: seeds 1..%d clean%n", v, CROSS_SEEDS);
    }
  }

  @Test
  void asMerged_deadlocks_onEverySeedItIsSweptOver_firstAtThePinnedSeed() {
    ScenarioRunner runner = new ScenarioRunner(FACTORY, DriverVariant.AS_MERGED);
    List<DeclaredRace> declared = List.of(GntdevFactory.SYNC_UNMAP_DEADLOCK);
    long first = 0;
    int found = 0;
    for (long seed = 1; seed <= 20; seed++) {
      ScenarioRun run = runner.run(new CrossDriverDeadlock(), seed);
      Verdict verdict = Verdict.of(run, declared);
      assertThat(verdict.passed()).as(verdict.summary()).isTrue();
      if (verdict.shows(GntdevFactory.SYNC_UNMAP_DEADLOCK)) {
        found++;
        first = first == 0 ? seed : first;
      }
    }
    System.out.printf(
        "AS_MERGED cross-driver-deadlock: %d of seeds 1..20, first %d%n", found, first);
    assertThat(first).isEqualTo(DEADLOCK_SEED);
  }
}
