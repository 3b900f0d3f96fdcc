package io.mmulab.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.check.Violation;
import io.mmulab.testkit.PlantedBugDriver.Bug;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A scenario that cannot fail is a defect: each bug class planted in an otherwise correct driver is
 * caught by the scenario that probes it, within the default seed budget, as the failure it should
 * be; the same driver without the bug is clean on every scenario.
 */
class PlantedBugTest {
  private static final ConformanceRunner RUNNER =
      new ConformanceRunner(ConformanceOptions.defaults().withSeeds(1, 60).withShrinkAttempts(10));

  static Stream<Arguments> caught() {
    return Stream.of(
        Arguments.of(Bug.NO_READ_RETRY, Scenarios.MUNMAP_VS_FAULT, "violation STALE_USE"),
        Arguments.of(Bug.NO_TLB_FLUSH, Scenarios.MIGRATE_DURING_DMA, "violation STALE_USE"),
        Arguments.of(
            Bug.IGNORES_PROTECTION, Scenarios.MPROTECT_DURING_WRITE_FAULT, "violation PERMISSION"),
        Arguments.of(Bug.IGNORES_PROTECTION, Scenarios.FORK_COW_WRITABLE, "violation PERMISSION"),
        Arguments.of(
            Bug.SLEEPS_IN_NONBLOCKABLE,
            Scenarios.OOM_REAP_DURING_FAULT,
            "FAILED io.mmulab.api.LockRuleViolation"),
        Arguments.of(
            Bug.NONBLOCKABLE_DONE_WITHOUT_ZAP,
            Scenarios.OOM_REAP_DURING_FAULT,
            "violation USE_AFTER_FREE"),
        Arguments.of(Bug.KEEPS_SUBSCRIPTION, Scenarios.MUNMAP_VS_FAULT, "violation LIFETIME"),
        Arguments.of(
            Bug.KEEPS_SUBSCRIPTION,
            Scenarios.INSERT_REMOVE_DURING_INVALIDATION,
            "violation LIFETIME"),
        Arguments.of(Bug.TIMED_TEARDOWN, Scenarios.FENCE_NEVER_SIGNALS, "violation LIFETIME"),
        Arguments.of(
            Bug.DOWNGRADES_WITHOUT_FLUSH,
            Scenarios.OVERLAPPING_INVALIDATIONS,
            "violation PERMISSION"),
        Arguments.of(Bug.NO_MMGET, Scenarios.EXIT_DURING_DMA, "violation LIFETIME"));
  }

  @ParameterizedTest(name = "{0} caught by {1}")
  @MethodSource("caught")
  void plantedBug_isCaughtByTheScenarioThatProbesIt(Bug bug, String scenario, String signature) {
    ScenarioResult r =
        RUNNER.run(
            new PlantedBugDriver(bug), DriverVariant.CONSOLIDATED, Scenarios.byName(scenario));

    assertThat(r.failure()).as(r.summary()).isPresent();
    UndeclaredFailure f = r.failure().get();
    System.out.printf("planted %s caught by %s at seed %d%n", bug, scenario, f.seed());
    assertThat(f.verdict().signature()).as(f.message()).contains(signature);
    assertThat(f.message())
        .contains("seed " + f.seed())
        .contains("-Dmmulab.seed=" + f.seed() + " -Dmmulab.seeds=1");
  }

  @Test
  void abbaLocks_isADeadlockFinding_namingBothWaiters_thatReplaysAndCanBeDeclared() {
    Scenario scenario = Scenarios.byName(Scenarios.MUNMAP_VS_FAULT);
    ScenarioResult r =
        RUNNER.run(new PlantedBugDriver(Bug.ABBA_LOCKS), DriverVariant.CONSOLIDATED, scenario);

    assertThat(r.failure()).as(r.summary()).isPresent();
    UndeclaredFailure f = r.failure().get();
    assertThat(f.verdict().signature()).containsExactly("violation DEADLOCK");
    Violation deadlock = f.verdict().undeclared().get(0);
    System.out.printf("planted ABBA_LOCKS, seed %d: %s%n", f.seed(), deadlock.message());
    assertThat(deadlock.kind()).isEqualTo(ViolationKind.DEADLOCK);
    assertThat(deadlock.message())
        .startsWith("a cycle of waits: ")
        .containsPattern(
            "device waits for mutex planted-abba-locks\\d+\\.table, held by munmap, holding"
                + " [^;]*planted-abba-locks\\d+\\.update")
        .containsPattern(
            "munmap waits for mutex planted-abba-locks\\d+\\.update, held by device, holding"
                + " [^;]*planted-abba-locks\\d+\\.table");
    assertThat(f.message()).contains("-Dmmulab.seed=" + f.seed() + " -Dmmulab.seeds=1");
    ScenarioRun replay =
        new ScenarioRunner(new PlantedBugDriver(Bug.ABBA_LOCKS), DriverVariant.CONSOLIDATED)
            .replay(f.verdict().run());
    // Device names carry a per-adapter number, so compare with the numbers masked.
    assertThat(replay.violations(ViolationKind.DEADLOCK))
        .as("the replay deadlocks the same way")
        .extracting(v -> v.message().replaceAll("\\d+", "N"))
        .containsExactly(deadlock.message().replaceAll("\\d+", "N"));

    DeclaredRace abba =
        new DeclaredRace(
            "abba",
            Scenarios.MUNMAP_VS_FAULT,
            Set.of(ViolationKind.DEADLOCK),
            "the fault path takes update then table, the callback table then update");
    PlantedBugDriver declared = new PlantedBugDriver(Bug.ABBA_LOCKS, List.of(abba));
    ScenarioResult withRace = RUNNER.run(declared, DriverVariant.CONSOLIDATED, scenario);
    assertThat(withRace.failure()).as(withRace.summary()).isEmpty();
    assertThat(withRace.racesFound()).containsKey("abba");
    assertThat(
            RUNNER
                .findRace(declared, DriverVariant.CONSOLIDATED, abba, Scenarios.MUNMAP_VS_FAULT)
                .passed())
        .isTrue();
  }

  static Stream<Scenario> scenarios() {
    return Scenarios.all().stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("scenarios")
  void withoutABug_asynchronousMirror_isClean(Scenario scenario) {
    ScenarioResult r =
        RUNNER.run(new PlantedBugDriver(Bug.NONE), DriverVariant.CONSOLIDATED, scenario);

    assertThat(r.failure()).as(() -> r.failure().get().message()).isEmpty();
  }
}
