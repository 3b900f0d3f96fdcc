package io.mmulab.sim.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class VirtualTimeTest {
  private static final long HOUR = TimeUnit.HOURS.toNanos(1);

  /** Exact virtual time: the clock moves only when every thread sleeps. */
  private static SchedulerConfig exact(long seed) {
    return SchedulerConfig.ofSeed(seed).withNanosPerStep(0);
  }

  @Test
  void sleep_wakesAtTheDeadlineWithoutRealWaiting() {
    List<Long> seen = new ArrayList<>();
    long wallStart = System.nanoTime();
    RunResult r =
        Simulation.run(
            exact(5),
            rt -> {
              Clock c = rt.clock();
              long t0 = c.nanoTime();
              c.sleep(HOUR);
              seen.add(c.nanoTime() - t0);
              c.sleep(0);
              seen.add(c.nanoTime() - t0);
            });
    long wall = System.nanoTime() - wallStart;
    assertThat(r.outcome()).as("seed 5: %s", r.report()).isEqualTo(Outcome.OK);
    assertThat(seen).as("seed 5").containsExactly(HOUR, HOUR);
    assertThat(wall).as("real time spent").isLessThan(TimeUnit.SECONDS.toNanos(20));
    assertThat(r.virtualNanos()).as("seed 5").isEqualTo(HOUR);
  }

  @Test
  void sleepers_wakeInDeadlineOrder() {
    for (long seed = 0; seed < 10; seed++) {
      List<String> order = new ArrayList<>();
      RunResult r =
          Simulation.run(
              exact(seed),
              rt -> {
                List<ThreadHandle> hs = new ArrayList<>();
                for (int i = 3; i >= 1; i--) {
                  long ms = i;
                  hs.add(
                      rt.spawn(
                          "s" + i,
                          () -> {
                            rt.clock().sleep(TimeUnit.MILLISECONDS.toNanos(ms));
                            order.add("s" + ms + "@" + rt.clock().nanoTime());
                          }));
                }
                hs.forEach(ThreadHandle::join);
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
      assertThat(order)
          .as("seed %d", seed)
          .containsExactly("s1@1000000", "s2@2000000", "s3@3000000");
    }
  }

  @Test
  void waitEventTimeout_firesWithTheClockAtTheDeadline() {
    long[] out = new long[2];
    boolean[] result = {true};
    RunResult r =
        Simulation.run(
            exact(9),
            rt -> {
              WaitQueue wq = rt.newWaitQueue("wq");
              long t0 = rt.clock().nanoTime();
              result[0] = wq.waitEventTimeout(() -> false, 5_000);
              out[0] = rt.clock().nanoTime() - t0;
            });
    assertThat(r.outcome()).as("seed 9: %s", r.report()).isEqualTo(Outcome.OK);
    assertThat(result[0]).as("seed 9").isFalse();
    assertThat(out[0]).as("seed 9").isEqualTo(5_000);
    assertThat(r.trace().render()).as("seed 9").contains("main: wait wq timed out");
  }

  @Test
  void waitForCompletionTimeout_firesAtTheDeadline_orReturnsWhenCompletedEarlier() {
    for (long seed = 0; seed < 10; seed++) {
      long[] at = new long[2];
      boolean[] got = new boolean[2];
      RunResult r =
          Simulation.run(
              exact(seed),
              rt -> {
                Completion never = rt.newCompletion("never");
                Completion soon = rt.newCompletion("soon");
                rt.spawn(
                    "completer",
                    () -> {
                      rt.clock().sleep(3_000);
                      soon.complete();
                    });
                got[0] = never.waitForCompletionTimeout(7_000);
                at[0] = rt.clock().nanoTime();
                got[1] = soon.waitForCompletionTimeout(1_000_000);
                at[1] = rt.clock().nanoTime();
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
      assertThat(got).as("seed %d", seed).containsExactly(false, true);
      assertThat(at).as("seed %d", seed).containsExactly(7_000L, 7_000L);
    }
  }

  @Test
  void waitEventTimeout_returnsTrueWhenTheConditionTurnsTrueBeforeTheDeadline() {
    for (long seed = 0; seed < 10; seed++) {
      long[] at = {-1};
      boolean[] got = {false};
      RunResult r =
          Simulation.run(
              exact(seed),
              rt -> {
                WaitQueue wq = rt.newWaitQueue("wq");
                boolean[] flag = {false};
                rt.spawn(
                    "setter",
                    () -> {
                      rt.clock().sleep(2_000);
                      flag[0] = true;
                      wq.wakeUpAll();
                    });
                got[0] = wq.waitEventTimeout(() -> flag[0], 10_000);
                at[0] = rt.clock().nanoTime();
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
      assertThat(got[0]).as("seed %d", seed).isTrue();
      assertThat(at[0]).as("seed %d", seed).isEqualTo(2_000);
    }
  }

  @Test
  void perStepTime_letsBusyLoopsTimeOut() {
    SchedulerConfig config = SchedulerConfig.ofSeed(4).withNanosPerStep(100);
    long[] loops = {0};
    RunResult r =
        Simulation.run(
            config,
            rt -> {
              long deadline = rt.clock().nanoTime() + 10_000;
              while (rt.clock().nanoTime() < deadline) {
                rt.yieldPoint("poll");
                loops[0]++;
              }
            });
    assertThat(r.outcome()).as("seed 4: %s", r.report()).isEqualTo(Outcome.OK);
    assertThat(loops[0]).as("seed 4").isEqualTo(100);
  }
}
