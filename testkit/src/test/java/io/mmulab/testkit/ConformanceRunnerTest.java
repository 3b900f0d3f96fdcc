package io.mmulab.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.testkit.PlantedBugDriver.Bug;
import io.mmulab.testkit.scenario.Scenarios;
import io.mmulab.testkit.tutorial.TutorialDriver;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ConformanceRunnerTest {
  private static final ConformanceOptions SMALL =
      new ConformanceOptions(1, 10, 200, 40, true, 100, Duration.ofSeconds(30), Set.of(), Set.of());

  @Test
  void findRace_tutorialLegacy_findsItsDeclaredRaceWithinTheBudget() {
    RaceResult r =
        new ConformanceRunner(SMALL)
            .findRace(
                new TutorialDriver(),
                DriverVariant.LEGACY,
                TutorialDriver.INVALIDATING_FLAG,
                Scenarios.OVERLAPPING_INVALIDATIONS);

    assertThat(r.found()).as(r.message()).isTrue();
    assertThat(r.passed()).isTrue();
    assertThat(r.message())
        .isEqualTo(
            "race invalidating-flag (overlapping-invalidations) of driver tutorial/LEGACY found at"
                + " seed "
                + r.foundAtSeed().getAsLong()
                + " after "
                + r.seedsTried()
                + " seeds");
    assertThat(r.seedsTried())
        .isEqualTo((int) (r.foundAtSeed().getAsLong() - SMALL.firstSeed() + 1));
    assertThat(r.finding().get().races()).containsKey(TutorialDriver.INVALIDATING_FLAG);
    assertThat(r.shrunk()).isPresent(); // shrinkRaces
    assertThat(r.shrunk().get().run().violations(ViolationKind.STALE_USE)).isNotEmpty();
  }

  @Test
  void findRace_raceThatNeverShows_isNotFound_withTheBudgetInTheMessage() {
    DeclaredRace imaginary =
        new DeclaredRace(
            "imaginary", Scenarios.FORK_COW_WRITABLE, Set.of(ViolationKind.ISOLATION), "none");

    RaceResult r =
        new ConformanceRunner(SMALL.withRaceSeeds(5))
            .findRace(
                withRace(new TutorialDriver(), imaginary),
                DriverVariant.LEGACY,
                imaginary,
                Scenarios.FORK_COW_WRITABLE);

    assertThat(r.found()).isFalse();
    assertThat(r.message())
        .isEqualTo(
            "race imaginary (fork-cow-writable) of driver tutorial/LEGACY NOT found in 5 seeds"
                + " from 1 (budget 5, -Dmmulab.raceSeeds=N to change)");
  }

  @Test
  void run_undeclaredViolation_reportsSeedReplayTraceAndShrunkSchedule() {
    ScenarioResult r =
        new ConformanceRunner(SMALL)
            .run(
                new PlantedBugDriver(Bug.NO_READ_RETRY),
                DriverVariant.CONSOLIDATED,
                Scenarios.byName(Scenarios.MUNMAP_VS_FAULT));

    assertThat(r.passed()).isFalse();
    UndeclaredFailure f = r.failure().get();
    assertThat(r.seedsRun()).isEqualTo((int) f.seed()); // the sweep stops at the first failure
    assertThat(f.message())
        .contains("undeclared failure at seed " + f.seed() + ": undeclared ")
        .contains("STALE_USE by planted-no-read-retry")
        .contains(
            "replay: mvn -B test -pl testkit -am -Dsurefire.failIfNoSpecifiedTests=false"
                + " -Dtest=ConformanceRunnerTest -Dmmulab.replay=CONSOLIDATED:munmap-vs-fault:"
                + f.seed())
        .contains(
            "-Dmmulab.seed="
                + f.seed()
                + " -Dmmulab.seeds=1 -Dmmulab.scenario=munmap-vs-fault"
                + " -Dmmulab.variant=CONSOLIDATED")
        .contains("trace (oldest first):")
        .contains("schedule trace, entries ")
        .contains("shrunk schedule: ");
    assertThat(f.verdict().signature()).contains("violation STALE_USE");
    assertThat(f.shrunk().get().run().violations(ViolationKind.STALE_USE)).isNotEmpty();
    assertThat(r.summary()).contains("FAILED at seed " + f.seed());
  }

  @Test
  void runAll_tutorial_passesAndRendersEveryResult() {
    ConformanceReport report =
        new ConformanceRunner(SMALL.withSeeds(1, 5)).runAll(new TutorialDriver());

    assertThat(report.passed()).as(report.render()).isTrue();
    assertThat(report.scenarios()).hasSize(2 * Scenarios.all().size());
    assertThat(report.races()).hasSize(1);
    assertThat(report.stress()).hasSize(2);
    assertThat(report.race("tutorial", DriverVariant.LEGACY, "invalidating-flag")).isPresent();
    assertThat(report.render())
        .contains("tutorial     CONSOLIDATED  munmap-vs-fault")
        .contains("race invalidating-flag (overlapping-invalidations) of driver tutorial/LEGACY")
        .contains("stress tutorial/CONSOLIDATED: ok");
  }

  @Test
  void stress_consolidatedTutorial_isCleanOnRealThreads() {
    StressResult r =
        new ConformanceRunner(SMALL.withStressOps(300))
            .stress(new TutorialDriver(), DriverVariant.CONSOLIDATED);

    assertThat(r.passed()).as(r.message()).isTrue();
    assertThat(r.allowedKinds()).isEmpty();
    assertThat(r.calls()).containsKey("device ok").containsKey("cpu-mmap ok");
  }

  @Test
  void checkContract_tutorial_hasNoProblem() {
    assertThat(ConformanceRunner.checkContract(new TutorialDriver())).isEmpty();
  }

  @Test
  void checkContract_racyConsolidatedOrUnknownScenario_isReported() {
    DeclaredRace racy =
        new DeclaredRace("r", "munmap-vs-falut", Set.of(ViolationKind.STALE_USE), "typo");
    DriverFactory bad =
        new DelegatingFactory(new TutorialDriver()) {
          @Override
          public List<DeclaredRace> declaredRaces(DriverVariant variant) {
            return List.of(racy);
          }
        };

    assertThat(ConformanceRunner.checkContract(bad))
        .anySatisfy(p -> assertThat(p).contains("the consolidated variant declares races"))
        .anySatisfy(p -> assertThat(p).contains("names unknown scenario 'munmap-vs-falut'"))
        .anySatisfy(
            p -> assertThat(p).contains("declaredRaces(AS_MERGED) accepts a variant the driver"));
  }

  private static DriverFactory withRace(DriverFactory f, DeclaredRace extra) {
    return new DelegatingFactory(f) {
      @Override
      public List<DeclaredRace> declaredRaces(DriverVariant variant) {
        List<DeclaredRace> races = new java.util.ArrayList<>(super.declaredRaces(variant));
        if (variant == DriverVariant.LEGACY) {
          races.add(extra);
        }
        return races;
      }
    };
  }

  /** A factory that forwards to another, for overriding one method. */
  private static class DelegatingFactory implements DriverFactory {
    private final DriverFactory d;

    DelegatingFactory(DriverFactory d) {
      this.d = d;
    }

    @Override
    public String name() {
      return d.name();
    }

    @Override
    public DriverFamily family() {
      return d.family();
    }

    @Override
    public CoherencyModel model() {
      return d.model();
    }

    @Override
    public Set<DriverVariant> variants() {
      return d.variants();
    }

    @Override
    public List<DeclaredRace> declaredRaces(DriverVariant variant) {
      return d.declaredRaces(variant);
    }

    @Override
    public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
        throws ErrnoException {
      return d.create(variant, process, machine);
    }
  }
}
