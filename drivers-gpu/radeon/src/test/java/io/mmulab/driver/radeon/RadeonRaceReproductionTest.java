package io.mmulab.driver.radeon;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.testkit.RaceScenario;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One deterministic reproduction per declared race: the pinned seed (the first failing seed of the
 * race's scenario, found by sweeping seeds from 1 as the conformance suite does), the schedule
 * shrunk to the preemptions the race needs (printed), and the same shrunk choice list replayed on
 * the consolidated variant, which stays clean.
 */
class RadeonRaceReproductionTest {
  /** Race (scenario) → its first failing seed there (sweep from seed 1, the suite's budget). */
  private static final Map<String, Long> PINNED_SEEDS =
      Map.ofEntries(
          Map.entry("gup-after-start (munmap-vs-fault)", 4L),
          Map.entry("gup-after-start (overlapping-invalidations)", 1L),
          Map.entry("gup-after-start (migrate-during-dma)", 2L),
          Map.entry("gup-after-start (fork-cow-writable)", 143L),
          Map.entry("gup-after-start (munmap-zap-vs-fault)", 5L),
          Map.entry("gup-after-start (remap-while-cached)", 6L),
          Map.entry("gup-after-start (nested-invalidation-vs-register)", 61L),
          Map.entry("gup-after-start-fixme (munmap-vs-fault)", 5L),
          Map.entry("gup-after-start-fixme (overlapping-invalidations)", 1L),
          Map.entry("gup-after-start-fixme (migrate-during-dma)", 33L),
          Map.entry("gup-after-start-fixme (fork-cow-writable)", 847L),
          Map.entry("gup-after-start-fixme (munmap-zap-vs-fault)", 3L),
          Map.entry("gup-after-start-fixme (remap-while-cached)", 8L),
          Map.entry("gup-after-start-fixme (nested-invalidation-vs-register)", 119L));

  /** Replays spent shrinking each schedule; keeps the class fast. */
  private static final int SHRINK_ATTEMPTS = 40;

  private static final RadeonFactory FACTORY = new RadeonFactory();

  static Stream<Arguments> races() {
    return Stream.of(DriverVariant.LEGACY, DriverVariant.AS_MERGED)
        .flatMap(v -> RaceScenario.of(FACTORY.declaredRaces(v)).map(rs -> Arguments.of(v, rs)));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("races")
  void declaredRace_reproducesAtPinnedSeed_andShrunkScheduleIsCleanOnConsolidated(
      DriverVariant variant, RaceScenario rs) {
    assertThat(PINNED_SEEDS).containsKey(rs.toString());
    long seed = PINNED_SEEDS.get(rs.toString());
    DeclaredRace race = rs.race();
    ScenarioRunner legacy = new ScenarioRunner(FACTORY, variant);
    var scenario = Scenarios.byName(rs.scenario());
    System.out.printf(
        "race %s (%s/%s), pinned seed %d%n", race.name(), variant, scenario.name(), seed);

    ScenarioRun run = legacy.run(scenario, seed);
    Verdict verdict = Verdict.of(run, FACTORY.declaredRaces(variant));
    assertThat(verdict.shows(race)).as(verdict.summary()).isTrue();
    assertThat(verdict.passed()).as(verdict.summary()).isTrue();
    assertThat(run.violations()).anyMatch(v -> v.kind() == ViolationKind.STALE_USE);
    // Deterministic: the same seed replays to the same failure.
    assertThat(Verdict.of(legacy.replay(run), FACTORY.declaredRaces(variant)).shows(race)).isTrue();

    ShrunkSchedule shrunk =
        legacy.shrink(
            run, r -> Verdict.of(r, FACTORY.declaredRaces(variant)).shows(race), SHRINK_ATTEMPTS);
    System.out.printf(
        "  shrunk %d -> %d choices in %d replays: %s%n  %s%n",
        shrunk.originalLength(),
        shrunk.choices().size(),
        shrunk.attempts(),
        shrunk.choices(),
        Verdict.of(shrunk.run(), FACTORY.declaredRaces(variant)).summary());
    assertThat(Verdict.of(shrunk.run(), FACTORY.declaredRaces(variant)).shows(race)).isTrue();

    ScenarioRunner consolidated = new ScenarioRunner(FACTORY, DriverVariant.CONSOLIDATED);
    ScenarioRun safe = consolidated.replay(scenario, run.result().config(), shrunk.choiceArray());
    System.out.printf(
        "  same choices on CONSOLIDATED: %s, %d violation(s)%n",
        safe.outcome(), safe.violationCount());
    assertThat(safe.outcome()).isEqualTo(Outcome.OK);
    assertThat(safe.violations()).isEmpty();
    ScenarioRun safeSeed = consolidated.run(scenario, seed);
    assertThat(safeSeed.violations()).isEmpty();
  }
}
