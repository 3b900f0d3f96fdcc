package io.mmulab.sim.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class FaultInjectionTest {
  private static final FaultPlan DEVICE_FAULTS =
      FaultPlan.NONE.withDmaCompletionDelayMaxSteps(5).withDmaReorder(0.3).withFenceTimeout(0.2);

  private static List<String> decisions(FaultInjector f, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(
          f.dmaCompletionDelaySteps() + "/" + f.reorderDmaCompletions() + "/" + f.fenceTimesOut());
    }
    return out;
  }

  @Test
  void sameSeed_givesSameDeviceDecisions() {
    for (long seed = 0; seed < 20; seed++) {
      assertThat(decisions(new FaultInjector(DEVICE_FAULTS, seed), 50))
          .as("seed %d", seed)
          .isEqualTo(decisions(new FaultInjector(DEVICE_FAULTS, seed), 50));
    }
    assertThat(decisions(new FaultInjector(DEVICE_FAULTS, 1), 50))
        .isNotEqualTo(decisions(new FaultInjector(DEVICE_FAULTS, 2), 50));
  }

  @Test
  void deviceDecisions_respectBoundsAndProbabilities() {
    FaultInjector f = new FaultInjector(DEVICE_FAULTS, 42);
    int reorders = 0;
    int timeouts = 0;
    for (int i = 0; i < 10_000; i++) {
      assertThat(f.dmaCompletionDelaySteps()).as("seed 42").isBetween(0, 5);
      reorders += f.reorderDmaCompletions() ? 1 : 0;
      timeouts += f.fenceTimesOut() ? 1 : 0;
    }
    assertThat(reorders).as("seed 42").isBetween(2_700, 3_300);
    assertThat(timeouts).as("seed 42").isBetween(1_700, 2_300);
    FaultInjector none = new FaultInjector(FaultPlan.NONE, 42);
    FaultInjector always = new FaultInjector(FaultPlan.NONE.withFenceTimeout(1), 42);
    for (int i = 0; i < 100; i++) {
      assertThat(none.dmaCompletionDelaySteps()).isZero();
      assertThat(none.reorderDmaCompletions()).isFalse();
      assertThat(none.fenceTimesOut()).isFalse();
      assertThat(always.fenceTimesOut()).isTrue();
    }
  }

  @Test
  void knobs_drawFromIndependentStreams() {
    FaultInjector a = new FaultInjector(DEVICE_FAULTS, 7);
    FaultInjector b = new FaultInjector(DEVICE_FAULTS, 7);
    List<Boolean> fencesA = new ArrayList<>();
    List<Boolean> fencesB = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      fencesA.add(a.fenceTimesOut());
      b.reorderDmaCompletions(); // asking another knob in between changes nothing
      b.dmaCompletionDelaySteps();
      fencesB.add(b.fenceTimesOut());
    }
    assertThat(fencesB).as("seed 7").isEqualTo(fencesA);
  }

  @Test
  void runtimeFaults_areReproduciblePerSeed() {
    for (long seed = 0; seed < 5; seed++) {
      SchedulerConfig config = SchedulerConfig.ofSeed(seed).withFaults(DEVICE_FAULTS);
      List<List<String>> seen = new ArrayList<>();
      for (int run = 0; run < 2; run++) {
        List<String> out = new ArrayList<>();
        RunResult r =
            Simulation.run(
                config,
                rt -> {
                  rt.spawn("device", () -> out.addAll(decisions(rt.faults(), 10)));
                  out.addAll(decisions(rt.faults(), 10));
                });
        assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
        seen.add(out);
      }
      assertThat(seen.get(1)).as("seed %d", seed).isEqualTo(seen.get(0));
    }
  }

  @Test
  void spuriousWakeups_makeWaitersRecheckAndWaitAgain() {
    SchedulerConfig config =
        SchedulerConfig.ofSeed(0).withFaults(FaultPlan.NONE.withSpuriousWakeup(0.5));
    int totalEvaluations = 0;
    for (long seed = 0; seed < 10; seed++) {
      int[] evaluations = {0};
      boolean[] flagAtReturn = {false};
      boolean[] completedAtReturn = {false};
      RunResult r =
          Simulation.run(
              config.withSeed(seed),
              rt -> {
                WaitQueue wq = rt.newWaitQueue("wq");
                Completion done = rt.newCompletion("done");
                boolean[] flag = {false};
                boolean[] completed = {false};
                rt.spawn(
                    "setter",
                    () -> {
                      for (int i = 0; i < 30; i++) {
                        rt.yieldPoint("busy " + i);
                      }
                      flag[0] = true;
                      wq.wakeUpAll();
                      for (int i = 0; i < 30; i++) {
                        rt.yieldPoint("busy again " + i);
                      }
                      completed[0] = true;
                      done.complete();
                    });
                wq.waitEvent(
                    () -> {
                      evaluations[0]++;
                      return flag[0];
                    });
                flagAtReturn[0] = flag[0];
                done.waitForCompletion();
                completedAtReturn[0] = completed[0];
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
      assertThat(flagAtReturn[0]).as("seed %d", seed).isTrue();
      assertThat(completedAtReturn[0]).as("seed %d", seed).isTrue();
      totalEvaluations += evaluations[0];
      if (evaluations[0] > 2) {
        assertThat(r.trace().render()).as("seed %d", seed).contains("spurious wake-up");
      }
    }
    assertThat(totalEvaluations).as("condition re-checks over seeds 0..9").isGreaterThan(30);
  }

  @Test
  void spuriousWakeups_doNotHideADeadlock() {
    SchedulerConfig config =
        SchedulerConfig.ofSeed(5).withFaults(FaultPlan.NONE.withSpuriousWakeup(1));
    RunResult r =
        Simulation.run(
            config,
            rt -> {
              WaitQueue wq = rt.newWaitQueue("wq");
              rt.spawn(
                  "other",
                  () -> {
                    for (int i = 0; i < 5; i++) {
                      rt.yieldPoint("busy " + i);
                    }
                  });
              wq.waitEvent(() -> false);
            });
    assertThat(r.outcome()).as("seed 5: %s", r.report()).isEqualTo(Outcome.DEADLOCK);
    assertThat(r.report()).as("seed 5").contains("main: waits for wait queue wq");
    assertThat(r.trace().render()).as("seed 5").contains("spurious wake-up");
  }

  @Test
  void noSpuriousWakeups_whenTheKnobIsOff() {
    for (long seed = 0; seed < 10; seed++) {
      int[] evaluations = {0};
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                WaitQueue wq = rt.newWaitQueue("wq");
                boolean[] flag = {false};
                rt.spawn(
                    "setter",
                    () -> {
                      for (int i = 0; i < 30; i++) {
                        rt.yieldPoint("busy " + i);
                      }
                      flag[0] = true;
                      wq.wakeUpAll();
                    });
                wq.waitEvent(
                    () -> {
                      evaluations[0]++;
                      return flag[0];
                    });
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
      assertThat(evaluations[0]).as("seed %d", seed).isBetween(1, 2);
      assertThat(r.trace().render()).as("seed %d", seed).doesNotContain("spurious");
    }
  }

  @Test
  void extraYields_addSchedulingPointsBeforeLocksReproducibly() {
    Consumer<DeterministicRuntime> program =
        rt -> {
          Mutex m = rt.newMutex("m");
          for (int i = 0; i < 20; i++) {
            m.lock();
            m.unlock();
            if (m.tryLock()) {
              m.unlock();
            }
          }
        };
    SchedulerConfig config =
        SchedulerConfig.ofSeed(8).withFaults(FaultPlan.NONE.withExtraYieldBeforeLock(0.5));
    RunResult a = Simulation.run(config, program);
    RunResult b = Simulation.run(config, program);
    assertThat(a.outcome()).as("seed 8: %s", a.report()).isEqualTo(Outcome.OK);
    assertThat(b.trace()).as("seed 8").isEqualTo(a.trace());
    long extra =
        a.trace().entries().stream().filter(e -> e.label().equals("extra yield before m")).count();
    assertThat(extra).as("seed 8").isBetween(5L, 35L);
    RunResult none = Simulation.run(SchedulerConfig.ofSeed(8), program);
    assertThat(none.trace().render()).as("seed 8").doesNotContain("extra yield");
  }

  @Test
  void badKnobs_areRejectedByName() {
    assertThatThrownBy(() -> FaultPlan.NONE.withSpuriousWakeup(1.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("spuriousWakeup")
        .hasMessageContaining("1.5");
    assertThatThrownBy(() -> FaultPlan.NONE.withFenceTimeout(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fenceTimeout");
    assertThatThrownBy(() -> FaultPlan.NONE.withDmaReorder(-0.1))
        .hasMessageContaining("dmaReorder");
    assertThatThrownBy(() -> FaultPlan.NONE.withExtraYieldBeforeLock(2))
        .hasMessageContaining("extraYieldBeforeLock");
    assertThatThrownBy(() -> FaultPlan.NONE.withDmaCompletionDelayMaxSteps(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("dmaCompletionDelayMaxSteps");
  }
}
