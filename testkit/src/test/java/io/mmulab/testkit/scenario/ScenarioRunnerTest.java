package io.mmulab.testkit.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.testkit.tutorial.TutorialDriver;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class ScenarioRunnerTest {
  private static final ScenarioRunner LEGACY =
      new ScenarioRunner(new TutorialDriver(), DriverVariant.LEGACY);
  private static final Scenario OVERLAPPING = Scenarios.byName(Scenarios.OVERLAPPING_INVALIDATIONS);

  @Test
  void run_sameSeed_sameRun() {
    ScenarioRun a = LEGACY.run(OVERLAPPING, 13);
    ScenarioRun b = LEGACY.run(OVERLAPPING, 13);

    assertThat(b.result().trace()).isEqualTo(a.result().trace());
    assertThat(b.result().choices()).isEqualTo(a.result().choices());
    assertThat(b.violations()).isEqualTo(a.violations());
  }

  @Test
  void replay_ofARun_reproducesItEventForEvent() {
    ScenarioRun a = LEGACY.run(OVERLAPPING, 13);

    ScenarioRun b = LEGACY.replay(a);

    assertThat(b.result().trace()).isEqualTo(a.result().trace());
    assertThat(b.violations()).isEqualTo(a.violations());
  }

  @Test
  void shrink_failingRun_keepsTheFailureWithFewerChoices() {
    ScenarioRun failing = firstFailing();

    ShrunkSchedule s =
        LEGACY.shrink(failing, r -> !r.violations(ViolationKind.STALE_USE).isEmpty(), 60);

    assertThat(s.choices().size()).isLessThan(failing.result().choices().size());
    assertThat(s.run().violations(ViolationKind.STALE_USE)).isNotEmpty();
    ScenarioRun again = LEGACY.replay(OVERLAPPING, s.run().result().config(), s.choiceArray());
    assertThat(again.violations(ViolationKind.STALE_USE)).isNotEmpty();
    assertThat(s.describe()).contains("shrunk schedule: " + s.choices().size() + " choices");
  }

  @Test
  void seeds_alternateScheduleStrategies() {
    assertThat(ScheduleStrategy.forSeed(2)).isEqualTo(ScheduleStrategy.UNIFORM);
    assertThat(ScheduleStrategy.forSeed(3)).isEqualTo(ScheduleStrategy.STICKY);
    assertThat(LEGACY.run(OVERLAPPING, 3).describe(5)).contains("STICKY");
  }

  @Test
  void callThatMustSucceed_failing_failsTheRunNamingTheThread() {
    Scenario readsAHole =
        new TestScenario(
            ctx -> {
              Buffer buf = ctx.mapBuffer(1);
              ctx.process().munmap(buf.va(0), buf.length());
              ctx.spawn("reader", () -> ctx.adapter().read(buf.va(0), 1));
            });

    ScenarioRun run = LEGACY.run(readsAHole, 1);

    assertThat(run.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(run.result().failedThread()).isEqualTo("reader");
    assertThat(run.result().failure())
        .hasMessageContaining("a call that must succeed failed")
        .hasCauseInstanceOf(ErrnoException.class);
  }

  @Test
  void expect_isSilent_onceTheCheckerSawAViolation_elseAFindingOfItsKind() {
    Scenario dirty =
        new TestScenario(
            ctx -> {
              ctx.checker().deviceTornDown("ghost");
              ctx.checker().deviceTornDown("ghost"); // LIFETIME: torn down again
              ctx.expect(ViolationKind.STALE_USE, false, "not reported: the violation explains it");
            });
    Scenario clean =
        new TestScenario(
            ctx -> {
              ctx.expect(ViolationKind.PERMISSION, 1 + 1 == 3, "arithmetic %s", "broke");
              ctx.expect(ViolationKind.STALE_USE, true, "holds");
            });

    ScenarioRun a = LEGACY.run(dirty, 1);
    ScenarioRun b = LEGACY.run(clean, 1);

    assertThat(a.outcome()).isEqualTo(Outcome.OK);
    assertThat(a.violations()).extracting(Violation::kind).containsExactly(ViolationKind.LIFETIME);
    assertThat(b.outcome()).as("the run goes on").isEqualTo(Outcome.OK);
    assertThat(b.isClean()).isFalse();
    assertThat(b.violations())
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.kind()).isEqualTo(ViolationKind.PERMISSION);
              assertThat(v.deviceId()).isEqualTo(ScenarioContext.SCENARIO);
              assertThat(v.message()).isEqualTo("scenario expectation: arithmetic broke");
            });
    assertThat(b.firstViolationIndex()).as("marked in the trace").isNotNegative();
  }

  @Test
  void tryHelpers_countErrnos_andRunnerTearsDownAndExits() {
    Scenario s =
        new TestScenario(
            ctx -> {
              Buffer buf = ctx.mapBuffer(2);
              ctx.process().munmap(buf.va(0), Buffer.pages(1));
              assertThat(ctx.tryRead(ctx.adapter(), buf.va(0))).isEmpty();
              assertThat(ctx.tryWrite(ctx.adapter(), buf.va(0), 1)).isFalse();
            });

    ScenarioRun run = LEGACY.run(s, 1);

    assertThat(run.isClean()).isTrue();
    assertThat(run.deviceCalls()).containsEntry("read " + Errno.EFAULT, 1L);
    assertThat(run.deviceCalls()).containsEntry("write " + Errno.EFAULT, 1L);
    assertThat(run.result().trace().render()).contains("exit: between");
  }

  @Test
  void runner_variantTheDriverLacks_isRejected() {
    assertThatThrownBy(() -> new ScenarioRunner(new TutorialDriver(), DriverVariant.AS_MERGED))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tutorial has no AS_MERGED variant");
  }

  @Test
  void withWholeCheckerTraces_givesAnExpectationFinding_theWholeCheckerHistory() throws Exception {
    Scenario late =
        new TestScenario(
            ctx -> {
              Buffer buf = ctx.mapBuffer(16);
              DriverAdapter dev = ctx.adapter();
              for (int round = 0; round < 4; round++) {
                for (int p = 0; p < 16; p++) {
                  ctx.tryWrite(dev, buf.va(p), p);
                }
              }
              ctx.expect(ViolationKind.STALE_USE, false, "planted after %d writes", 64);
            });
    ScenarioRun run = LEGACY.run(late, 1);
    Violation ring = run.violations().get(0);

    ScenarioRun whole = LEGACY.withWholeCheckerTraces(run);
    Violation full = whole.violations().get(0);

    assertThat(ring.deviceId()).isEqualTo(ScenarioContext.SCENARIO);
    assertThat(ring.trace()).hasSize(CoherencyChecker.DEFAULT_TRACE_LENGTH);
    assertThat(full.summary()).isEqualTo(ring.summary());
    assertThat(full.trace())
        .hasSizeGreaterThan(ring.trace().size())
        .endsWith(ring.trace().toArray(String[]::new));
    assertThat(full.trace().get(0)).startsWith("#1 ");
    assertThat(whole.result()).isSameAs(run.result());
    assertThat(LEGACY.withWholeCheckerTraces(LEGACY.run(OVERLAPPING, 1)).violations())
        .as("checker violations keep their trace")
        .isEqualTo(LEGACY.run(OVERLAPPING, 1).violations());
  }

  private static ScenarioRun firstFailing() {
    return LongStream.rangeClosed(1, 200)
        .mapToObj(seed -> LEGACY.run(OVERLAPPING, seed))
        .filter(r -> !r.isClean())
        .findFirst()
        .orElseThrow();
  }

  /** A scenario made of one lambda, for tests of the runner itself. */
  private record TestScenario(Body body) implements Scenario {
    interface Body {
      void run(ScenarioContext ctx) throws ErrnoException;
    }

    @Override
    public String name() {
      return "test";
    }

    @Override
    public String description() {
      return "a test of the runner";
    }

    @Override
    public void run(ScenarioContext ctx) throws ErrnoException {
      body.run(ctx);
    }
  }
}
