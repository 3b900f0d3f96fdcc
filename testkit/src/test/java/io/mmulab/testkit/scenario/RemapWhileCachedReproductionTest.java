package io.mmulab.testkit.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.dmirror.DmirrorFactory;
import io.mmulab.testkit.regcache.RegCacheDriver;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The testkit drivers' legacy races in {@value Scenarios#REMAP_WHILE_CACHED}: the pinned seed (the
 * first seed, swept from 1, that shows the race), the schedule shrunk to what the race needs
 * (printed), and the run's choice list replayed on the consolidated variant, which stays clean.
 *
 * <p>The consolidated replay takes the whole recorded list: a shrunk list ends in the replay's
 * continuation, which never preempts, and this scenario's device thread, which never blocks once
 * its pages are cached, would keep the remapping CPU thread off the processor until the step limit.
 */
class RemapWhileCachedReproductionTest {
  private static final int SHRINK_ATTEMPTS = 40;

  static Stream<Arguments> races() {
    return Stream.of(
        Arguments.of(new DmirrorFactory(), DmirrorFactory.VALID_FLAG_RESET, 55L),
        Arguments.of(new RegCacheDriver(), RegCacheDriver.PIN_BEFORE_INSERT, 6L));
  }

  @ParameterizedTest(name = "{0} {1}, seed {2}")
  @MethodSource("races")
  void legacyRace_reproducesAtPinnedSeed_andShrunkScheduleIsCleanOnConsolidated(
      DriverFactory factory, DeclaredRace race, long seed) {
    assertThat(race.exposedBy(Scenarios.REMAP_WHILE_CACHED)).isTrue();
    Scenario scenario = Scenarios.byName(Scenarios.REMAP_WHILE_CACHED);
    var legacyRaces = factory.declaredRaces(DriverVariant.LEGACY);
    ScenarioRunner legacy = new ScenarioRunner(factory, DriverVariant.LEGACY);

    ScenarioRun run = legacy.run(scenario, seed);
    Verdict verdict = Verdict.of(run, legacyRaces);
    assertThat(verdict.shows(race)).as(verdict.summary()).isTrue();
    assertThat(verdict.passed()).as(verdict.summary()).isTrue();

    ShrunkSchedule shrunk =
        legacy.shrink(run, r -> Verdict.of(r, legacyRaces).shows(race), SHRINK_ATTEMPTS);
    System.out.printf(
        "%s %s at seed %d: shrunk %d -> %d choices: %s%n  %s%n",
        factory.name(),
        race.name(),
        seed,
        shrunk.originalLength(),
        shrunk.choices().size(),
        shrunk.choices(),
        Verdict.of(shrunk.run(), legacyRaces).summary());
    assertThat(Verdict.of(shrunk.run(), legacyRaces).shows(race)).isTrue();

    ScenarioRunner consolidated = new ScenarioRunner(factory, DriverVariant.CONSOLIDATED);
    ScenarioRun safe =
        consolidated.replay(scenario, run.result().config(), run.result().choiceArray());
    assertThat(safe.outcome()).isEqualTo(Outcome.OK);
    assertThat(safe.violations()).isEmpty();
    assertThat(consolidated.run(scenario, seed).violations()).isEmpty();
  }
}
