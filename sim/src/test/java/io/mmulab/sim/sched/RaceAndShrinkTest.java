package io.mmulab.sim.sched;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class RaceAndShrinkTest {
  private static final Consumer<DeterministicRuntime> RACY = rt -> Programs.counter(rt, false);
  private static final Consumer<DeterministicRuntime> LOCKED = rt -> Programs.counter(rt, true);
  private static final Predicate<RunResult> LOST_UPDATE =
      r ->
          r.outcome() == Outcome.FAILED
              && r.failure() instanceof AssertionError
              && r.failure().getMessage().startsWith("lost update");

  @Test
  void unsynchronizedReadModifyWrite_losesAnUpdateForSomeSeed() {
    Optional<RunResult> found =
        Simulation.findSeed(SchedulerConfig.ofSeed(0), 100, LOST_UPDATE, RACY);
    assertThat(found).as("a lost update within seeds 0..99").isPresent();
    RunResult r = found.get();
    assertThat(r.failedThread()).as("seed %d", r.seed()).isEqualTo("main");
    assertThat(r.report()).as("seed %d", r.seed()).startsWith("FAILED").contains("lost update");
  }

  @Test
  void readModifyWriteUnderMutex_neverLosesAnUpdate() {
    for (long seed = 0; seed < 100; seed++) {
      RunResult r = Simulation.run(SchedulerConfig.ofSeed(seed), LOCKED);
      assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
    }
  }

  @Test
  void shrinking_aFailingChoiceList_keepsItFailingAndNotLonger() {
    RunResult failing =
        Simulation.findSeed(SchedulerConfig.ofSeed(0), 100, LOST_UPDATE, RACY).orElseThrow();
    Shrinker.Result shrunk = Shrinker.shrink(failing, RACY, LOST_UPDATE);
    assertThat(shrunk.choices().size())
        .as("seed %d: %s -> %s", failing.seed(), failing.choices(), shrunk.choices())
        .isLessThanOrEqualTo(failing.choices().size());
    assertThat(shrunk.attempts()).isLessThanOrEqualTo(Shrinker.DEFAULT_MAX_ATTEMPTS);
    assertThat(LOST_UPDATE.test(shrunk.run())).as("seed %d", failing.seed()).isTrue();
    RunResult replayed = Simulation.replay(failing.config(), shrunk.choiceArray(), RACY);
    assertThat(LOST_UPDATE.test(replayed))
        .as("seed %d, shrunk %s: %s", failing.seed(), shrunk.choices(), replayed.report())
        .isTrue();
    assertThat(replayed.trace()).as("seed %d", failing.seed()).isEqualTo(shrunk.run().trace());
  }

  @Test
  void shrinking_aLongRandomSchedule_removesMostChoices() {
    // a longer program: the race needs one preemption, everything else is noise
    Consumer<DeterministicRuntime> noisy =
        rt -> {
          rt.spawn(
              "noise",
              () -> {
                for (int i = 0; i < 20; i++) {
                  rt.yieldPoint("noise " + i);
                }
              });
          Programs.counter(rt, false);
        };
    RunResult failing =
        Simulation.findSeed(SchedulerConfig.ofSeed(0), 100, LOST_UPDATE, noisy).orElseThrow();
    Shrinker.Result shrunk = Shrinker.shrink(failing, noisy, LOST_UPDATE);
    assertThat(shrunk.choices().size())
        .as("seed %d: %s -> %s", failing.seed(), failing.choices(), shrunk.choices())
        .isLessThan(failing.choices().size())
        .isLessThanOrEqualTo(6);
    assertThat(LOST_UPDATE.test(Simulation.replay(failing.config(), shrunk.choiceArray(), noisy)))
        .as("seed %d", failing.seed())
        .isTrue();
  }

  @Test
  void shrinking_aPassingChoiceList_isRejected() {
    RunResult ok = Simulation.run(SchedulerConfig.ofSeed(0), LOCKED);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> Shrinker.shrink(ok, LOCKED, LOST_UPDATE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not fail");
  }
}
