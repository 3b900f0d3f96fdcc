package io.mmulab.driver.vhost;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The legacy race {@code reader-before-unpublish} reproduced from pinned seeds: the first failing
 * seed of each scenario that declares it (swept from seed 1, as the conformance suite and {@code
 * ./mmulab explore} do), the schedule shrunk to the choices the race needs, and those choices
 * replayed on the consolidated variant, which stays clean.
 *
 * <p>The shrinker keeps only choice lists whose consolidated replay finishes clean: past its list a
 * replay never preempts, and a list cut too short can leave the consolidated run starving a thread
 * (two threads handing work back and forth forever), which says nothing about the race.
 */
class VhostRaceReproductionTest {
  private static final VhostFactory FACTORY = new VhostFactory();
  private static final int SHRINK_ATTEMPTS = 40;

  /** The schedule of {@code seed}, shrunk while {@code shows} holds, then run on consolidated. */
  private static ShrunkSchedule reproduce(
      String scenarioName, long seed, Predicate<ScenarioRun> shows) {
    Scenario scenario = Scenarios.byName(scenarioName);
    ScenarioRunner legacy = new ScenarioRunner(FACTORY, DriverVariant.LEGACY);
    ScenarioRun run = legacy.run(scenario, seed);
    Verdict verdict = Verdict.of(run, FACTORY.declaredRaces(DriverVariant.LEGACY));
    assertThat(verdict.shows(VhostFactory.READER_BEFORE_UNPUBLISH)).as(verdict.summary()).isTrue();
    assertThat(verdict.passed()).as(verdict.summary()).isTrue();
    assertThat(shows).accepts(run);
    assertThat(shows).as("the seed replays").accepts(legacy.replay(run));

    ScenarioRunner consolidated = new ScenarioRunner(FACTORY, DriverVariant.CONSOLIDATED);
    Predicate<ScenarioRun> cleanOnConsolidated =
        r -> consolidated.replay(scenario, r.result().config(), r.result().choiceArray()).isClean();
    ShrunkSchedule shrunk = legacy.shrink(run, shows.and(cleanOnConsolidated), SHRINK_ATTEMPTS);
    assertThat(shows).accepts(shrunk.run());
    ScenarioRun safe = consolidated.replay(scenario, run.result().config(), shrunk.choiceArray());
    System.out.printf(
        "vhost legacy %s seed %d: %s%n  shrunk %d -> %d choices (%d preemptions): %s%n"
            + "  same choices on CONSOLIDATED: %s, %d violation(s)%n",
        scenarioName,
        seed,
        run.violations().get(0).summary(),
        shrunk.originalLength(),
        shrunk.choices().size(),
        shrunk.preemptions(),
        shrunk.compact(),
        safe.outcome(),
        safe.violationCount());
    assertThat(safe.outcome()).isEqualTo(Outcome.OK);
    assertThat(safe.violations()).isEmpty();
    return shrunk;
  }

  @ParameterizedTest(name = "{0} at seed {1}")
  @CsvSource({
    "munmap-vs-fault, 99",
    "overlapping-invalidations, 91",
    "mprotect-during-write-fault, 86",
    "fork-cow-writable, 6",
    "migrate-during-dma, 27",
    "exit-during-dma, 10",
    "insert-remove-during-invalidation, 184",
    "fence-never-signals, 27",
    "munmap-zap-vs-fault, 11",
    "remap-while-cached, 114",
    "vma-split-under-grant, 302",
    "nested-invalidation-vs-register, 847"
  })
  void readerBeforeUnpublish_firstFailingSeed_shrunk_cleanOnConsolidated(
      String scenario, long seed) {
    assertThat(VhostFactory.READER_BEFORE_UNPUBLISH.scenarios()).contains(scenario);
    ScenarioRunner legacy = new ScenarioRunner(FACTORY, DriverVariant.LEGACY);
    for (long earlier = 1; earlier < seed; earlier++) {
      assertThat(legacy.run(Scenarios.byName(scenario), earlier).violations())
          .as("seed %d is the first failing one", seed)
          .isEmpty();
    }
    reproduce(scenario, seed, r -> !r.violations().isEmpty());
  }

  /**
   * The finding as the review described it: the worker loaded the used ring's map, the callback
   * unpublished it without waiting, the page was freed, and the worker's used-ring write lands in
   * the freed frame.
   */
  @Test
  void usedRingWriteAfterFree_overlappingInvalidations_seed233() {
    Predicate<ScenarioRun> usedRingWriteAfterFree =
        r -> r.violations(ViolationKind.USE_AFTER_FREE).stream().anyMatch(this::isUsedRingWrite);
    ShrunkSchedule shrunk = reproduce("overlapping-invalidations", 233, usedRingWriteAfterFree);
    Violation uaf = shrunk.run().violations(ViolationKind.USE_AFTER_FREE).get(0);
    System.out.println("  " + uaf.message() + "; last events: " + tail(uaf.trace()));
  }

  private boolean isUsedRingWrite(Violation v) {
    String access = v.trace().get(v.trace().size() - 1);
    // The used ring sits on the first two pages of the scenario's four-page buffer.
    return access.startsWith("#")
        && access.contains("deviceAccess")
        && access.endsWith(" write")
        && (v.va() & 0x3000) < 0x2000;
  }

  private static List<String> tail(List<String> trace) {
    return trace.subList(Math.max(0, trace.size() - 6), trace.size());
  }
}
