package io.mmulab.driver.vhost;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The legacy count imbalance, a liveness finding: {@code SET_VRING_ADDR} between an invalidation's
 * start (which counted the used ring at its old address) and its end (which tests the new address
 * and does not decrement) leaves {@code invalidate_count} at 1 with nothing in flight, every later
 * prefetch refuses, and the worker silently copies through the page table for good. The figure is
 * the fast-path share of the worker's accesses before and after.
 */
class VhostCountImbalanceTest {
  /** The first seed of the sweep from 1 at which the legacy fast path stays off. */
  private static final long PINNED_SEED = 2;

  private static final int SHRINK_ATTEMPTS = 60;

  private static final Predicate<ScenarioRun> FAST_PATH_OFF =
      r -> !r.violations(ViolationKind.LIVELOCK).isEmpty();

  @Test
  void legacy_setVringAddrBetweenStartAndEnd_fastPathOffForGood_consolidatedRecovers() {
    SetVringAddrDuringInvalidation scenario = new SetVringAddrDuringInvalidation();
    ScenarioRunner legacy = new ScenarioRunner(new VhostFactory(), DriverVariant.LEGACY);
    for (long seed = 1; seed < PINNED_SEED; seed++) {
      assertThat(FAST_PATH_OFF).as("seed %d", seed).rejects(legacy.run(scenario, seed));
    }
    ScenarioRun run = legacy.run(scenario, PINNED_SEED);
    assertThat(FAST_PATH_OFF).accepts(run);
    assertThat(run.violations()).allMatch(v -> v.kind() == ViolationKind.LIVELOCK);
    assertThat(scenario.shareBefore).isEqualTo(1.0);
    assertThat(scenario.shareAfter).isZero();
    assertThat(scenario.countAfter).isEqualTo(1);
    System.out.printf(
        "vhost legacy %s seed %d: fast-path share %.2f before, %.2f after, invalidate_count %d%n",
        scenario.name(),
        PINNED_SEED,
        scenario.shareBefore,
        scenario.shareAfter,
        scenario.countAfter);

    ShrunkSchedule shrunk = legacy.shrink(run, FAST_PATH_OFF, SHRINK_ATTEMPTS);
    assertThat(FAST_PATH_OFF).accepts(shrunk.run());
    System.out.printf(
        "  shrunk %d -> %d choices: %s%n",
        shrunk.originalLength(), shrunk.choices().size(), shrunk.compact());

    ScenarioRunner consolidated =
        new ScenarioRunner(new VhostFactory(), DriverVariant.CONSOLIDATED);
    ScenarioRun safe = consolidated.replay(scenario, run.result().config(), shrunk.choiceArray());
    System.out.printf(
        "  same choices on CONSOLIDATED: %s, %d finding(s), fast-path share %.2f before, %.2f"
            + " after%n",
        safe.outcome(), safe.violationCount(), scenario.shareBefore, scenario.shareAfter);
    assertThat(safe.outcome()).isEqualTo(Outcome.OK);
    assertThat(safe.violations()).isEmpty();
    assertThat(scenario.shareAfter).isEqualTo(1.0);
  }

  @Test
  void consolidated_seeds1to100_fastPathAlwaysBack() {
    SetVringAddrDuringInvalidation scenario = new SetVringAddrDuringInvalidation();
    ScenarioRunner consolidated =
        new ScenarioRunner(new VhostFactory(), DriverVariant.CONSOLIDATED);
    for (long seed = 1; seed <= 100; seed++) {
      ScenarioRun run = consolidated.run(scenario, seed);
      assertThat(run.violations()).as("seed %d", seed).isEmpty();
      assertThat(scenario.shareAfter).as("seed %d", seed).isEqualTo(1.0);
    }
  }
}
