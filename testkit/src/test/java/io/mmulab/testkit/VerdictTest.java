package io.mmulab.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Trace;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.Scenarios;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VerdictTest {
  private static final DeclaredRace RACE =
      new DeclaredRace(
          "r", Scenarios.MUNMAP_VS_FAULT, Set.of(ViolationKind.STALE_USE), "a planted race");

  @Test
  void declaredKind_inTheDeclaredScenario_showsTheRace() {
    Verdict v =
        Verdict.of(
            run(Scenarios.MUNMAP_VS_FAULT, Outcome.OK, ViolationKind.STALE_USE), List.of(RACE));

    assertThat(v.passed()).isTrue();
    assertThat(v.shows(RACE)).isTrue();
    assertThat(v.signature()).isEmpty();
  }

  @Test
  void declaredKind_inAnotherScenario_isUndeclared() {
    Verdict v =
        Verdict.of(
            run(Scenarios.FORK_COW_WRITABLE, Outcome.OK, ViolationKind.STALE_USE), List.of(RACE));

    assertThat(v.passed()).isFalse();
    assertThat(v.shows(RACE)).isFalse();
    assertThat(v.signature()).containsExactly("violation STALE_USE");
  }

  @Test
  void otherKind_inTheDeclaredScenario_isUndeclared_whileTheRaceStillShows() {
    Verdict v =
        Verdict.of(
            run(
                Scenarios.MUNMAP_VS_FAULT,
                Outcome.OK,
                ViolationKind.STALE_USE,
                ViolationKind.LIFETIME),
            List.of(RACE));

    assertThat(v.shows(RACE)).isTrue();
    assertThat(v.undeclared()).extracting(Violation::kind).containsExactly(ViolationKind.LIFETIME);
    assertThat(v.summary()).startsWith("undeclared LIFETIME");
  }

  @Test
  void hungRun_isAnUndeclaredFindingOfItsOwnKind_evenWithOnlyDeclaredViolations() {
    Verdict deadlock =
        Verdict.of(
            run(Scenarios.MUNMAP_VS_FAULT, Outcome.DEADLOCK, ViolationKind.STALE_USE),
            List.of(RACE));
    Verdict livelock = Verdict.of(run(Scenarios.MUNMAP_VS_FAULT, Outcome.LIVELOCK), List.of(RACE));

    assertThat(deadlock.passed()).isFalse();
    assertThat(deadlock.shows(RACE)).isTrue();
    assertThat(deadlock.undeclared())
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.kind()).isEqualTo(ViolationKind.DEADLOCK);
              assertThat(v.message()).isEqualTo("stuck");
            });
    assertThat(deadlock.problems()).isEmpty();
    assertThat(deadlock.signature()).containsExactly("violation DEADLOCK");
    assertThat(livelock.signature()).containsExactly("violation LIVELOCK");
  }

  @Test
  void hungRun_declaredAsARace_showsTheRace() {
    DeclaredRace stuck =
        new DeclaredRace(
            "abba",
            List.of(Scenarios.MUNMAP_VS_FAULT, Scenarios.FORK_COW_WRITABLE),
            Set.of(ViolationKind.DEADLOCK),
            "two locks in opposite orders");

    Verdict v = Verdict.of(run(Scenarios.FORK_COW_WRITABLE, Outcome.DEADLOCK), List.of(stuck));

    assertThat(v.passed()).isTrue();
    assertThat(v.shows(stuck)).isTrue();
  }

  @Test
  void failedRun_isAProblem() {
    Verdict failed = Verdict.of(run(Scenarios.MUNMAP_VS_FAULT, Outcome.FAILED), List.of(RACE));

    assertThat(failed.passed()).isFalse();
    assertThat(failed.problems()).containsExactly("FAILED");
    assertThat(failed.signature()).containsExactly("FAILED");
  }

  @Test
  void failsLike_sharesAFailureKind() {
    Verdict stale =
        Verdict.of(
            run(Scenarios.FORK_COW_WRITABLE, Outcome.OK, ViolationKind.STALE_USE), List.of());
    Verdict both =
        Verdict.of(
            run(
                Scenarios.FORK_COW_WRITABLE,
                Outcome.OK,
                ViolationKind.PERMISSION,
                ViolationKind.STALE_USE),
            List.of());
    Verdict permission =
        Verdict.of(
            run(Scenarios.FORK_COW_WRITABLE, Outcome.OK, ViolationKind.PERMISSION), List.of());

    assertThat(stale.failsLike(both)).isTrue();
    assertThat(stale.failsLike(permission)).isFalse();
  }

  private static ScenarioRun run(String scenario, Outcome outcome, ViolationKind... kinds) {
    List<Violation> violations =
        java.util.Arrays.stream(kinds)
            .map(
                k -> new Violation(k, "dev0", "app#1", 0x1000, 7, "planted", List.of("#1 planted")))
            .toList();
    RunResult result =
        new RunResult(
            outcome,
            new Trace(List.of()),
            List.of(),
            null,
            null,
            outcome.toString(),
            outcome == Outcome.DEADLOCK || outcome == Outcome.LIVELOCK ? "stuck" : null,
            0,
            0,
            SchedulerConfig.ofSeed(3));
    return new ScenarioRun(
        Scenarios.byName(scenario),
        "planted",
        DriverVariant.LEGACY,
        result,
        violations,
        violations.size(),
        List.of(),
        Map.of());
  }

  @Test
  void kernelWarning_isAProblem() {
    ScenarioRun clean = run(Scenarios.MUNMAP_VS_FAULT, Outcome.OK);
    ScenarioRun warned =
        new ScenarioRun(
            clean.scenario(),
            clean.driver(),
            clean.variant(),
            clean.result(),
            List.of(),
            0,
            List.of("app#1: invalidate callback returned false for a blockable range"),
            Map.of());

    assertThat(Verdict.of(clean, List.of()).passed()).isTrue();
    assertThat(Verdict.of(warned, List.of()).problems())
        .containsExactly(
            "kernel warning: app#1: invalidate callback returned false for a blockable range");
  }
}
