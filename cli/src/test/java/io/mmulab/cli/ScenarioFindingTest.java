package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.TraceEntry;
import io.mmulab.testkit.dmirror.DmirrorFactory;
import io.mmulab.testkit.scenario.Buffer;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioContext;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A finding of a scenario's own expectation ({@link ScenarioContext#expect}) is located, told and
 * marked like a checker violation.
 */
class ScenarioFindingTest {
  private static final ScenarioRunner RUNNER =
      new ScenarioRunner(new DmirrorFactory(), DriverVariant.CONSOLIDATED);

  /** Writes every page through the device from a second thread, then is surprised. */
  private static final Scenario SURPRISED =
      new Scenario() {
        @Override
        public String name() {
          return "surprised";
        }

        @Override
        public String description() {
          return "a planted expectation finding";
        }

        @Override
        public void run(ScenarioContext ctx) throws ErrnoException {
          Buffer buf = ctx.mapBuffer(4);
          DriverAdapter dev = ctx.adapter();
          ctx.spawn(
              "writer",
              () -> {
                for (int p = 0; p < 4; p++) {
                  ctx.tryWrite(dev, buf.va(p), p);
                }
              });
          ctx.joinAll();
          ctx.expect(ViolationKind.STALE_USE, false, "planted after the writes");
          ctx.tryRead(dev, buf.va(0));
        }
      };

  @Test
  void locate_marksTheEntryRightBeforeTheExpectationFailed_andTheTimelineShowsIt() {
    ScenarioRun run = RUNNER.run(SURPRISED, 1);
    Violation finding = run.violations().get(0);

    int marked = ViolationStep.locate(RUNNER, run, finding);

    assertThat(finding.deviceId()).isEqualTo(ScenarioContext.SCENARIO);
    assertThat(marked).isNotNegative();
    List<TraceEntry> entries = run.result().trace().entries();
    int noted = run.firstViolationIndex();
    assertThat(entries.get(marked).thread()).isEqualTo(entries.get(noted).thread());
    assertThat(marked).isLessThan(noted);
    assertThat(TimelineHtml.section("replay", "t", List.of(), run.result(), finding, marked, false))
        .as("the timeline marks it")
        .contains("class=\"mark\"")
        .contains(Html.esc(finding.summary()));
  }

  @Test
  void story_endsAtTheFinding_notAtTheEndOfTheTrace() {
    ScenarioRun run = RUNNER.run(SURPRISED, 1);
    ScenarioRun journaled =
        RUNNER.replayWithJournal(run.scenario(), run.result().config(), run.result().choiceArray());
    Violation finding = journaled.violations().get(0);

    Story s = Story.ofViolation(journaled.result().trace().entries(), finding);

    Story.Step last =
        s.steps().stream()
            .filter(st -> st.role() == Story.Role.VIOLATION)
            .findFirst()
            .orElseThrow();
    assertThat(last.entry().label())
        .isEqualTo(ScenarioRunner.JOURNAL_VIOLATION + finding.summary());
    assertThat(last.index()).isLessThan(journaled.result().trace().size() - 1);
  }
}
