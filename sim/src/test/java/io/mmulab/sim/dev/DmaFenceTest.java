package io.mmulab.sim.dev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.sched.DeterministicRuntime;
import io.mmulab.sim.sched.FaultPlan;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class DmaFenceTest {
  private static final long MS = 1_000_000L;
  private final SyncRuntime real = RealSyncRuntime.get();

  private static void assertOk(RunResult r) {
    assertThat(r.outcome()).as("seed %d: %s", r.seed(), r).isEqualTo(Outcome.OK);
  }

  @Test
  void signal_happensOnce() {
    DmaFence f = new FenceTimeline(real, "ring").createFence();
    assertThat(f.name()).isEqualTo("ring#1");
    assertThat(f.isSignaled()).isFalse();

    assertThat(f.signal()).isTrue();
    assertThat(f.signal(new ErrnoException(Errno.EFAULT, "late"))).isFalse();

    assertThat(f.isSignaled()).isTrue();
    assertThat(f.error()).as("a second signal changes nothing").isNull();
    assertThat(f.waitTimeout(0)).isTrue();
  }

  @Test
  void signalWithError_keepsTheError() {
    DmaFence f = new DmaFence(real, "ring", 7);
    f.signal(new ErrnoException(Errno.EFAULT, "dma fault"));
    assertThat(f.error().errno()).isEqualTo(Errno.EFAULT);
    assertThat(f.toString()).contains("ring#7", "failed");
  }

  @Test
  void callbacks_runAtSignalInOrder_notAfter() {
    DmaFence f = new DmaFence(real, "ring", 1);
    List<String> ran = new ArrayList<>();
    Runnable removed = () -> ran.add("removed");
    assertThat(f.addCallback(() -> ran.add("a"))).isTrue();
    assertThat(f.addCallback(removed)).isTrue();
    assertThat(f.addCallback(() -> ran.add("b"))).isTrue();
    assertThat(f.removeCallback(removed)).isTrue();
    assertThat(ran).isEmpty();

    f.signal();

    assertThat(ran).containsExactly("a", "b");
    assertThat(f.addCallback(() -> ran.add("late"))).as("-ENOENT").isFalse();
    assertThat(ran).containsExactly("a", "b");
    assertThat(f.whenSignaled(() -> ran.add("now"))).isFalse();
    assertThat(ran).containsExactly("a", "b", "now");
    assertThat(f.removeCallback(removed)).isFalse();
  }

  @Test
  void callbackThatSleeps_isALockRuleViolation() {
    DmaFence f = new DmaFence(real, "ring", 1);
    Mutex m = real.newMutex("driver.lock");
    f.addCallback(m::lock);

    assertThatThrownBy(f::signal)
        .isInstanceOfSatisfying(
            LockRuleViolation.class,
            e -> assertThat(e.rule()).isEqualTo(LockRule.SLEEP_WHILE_ATOMIC));
    assertThat(m.isHeldByCurrentThread()).isFalse();
    assertThat(f.isSignaled()).isTrue();
  }

  @Test
  void realRuntime_waitReturnsWhenAnotherThreadSignals() {
    DmaFence f = new DmaFence(real, "ring", 1);
    assertThat(f.waitTimeout(MS)).as("nobody signals").isFalse();
    ThreadHandle t = real.spawn("signaller", f::signal);
    assertThat(f.waitTimeout(10_000 * MS)).isTrue();
    t.join();
    f.waitSignaled();
  }

  @Test
  void deterministic_waitTimesOutInVirtualTime() {
    for (long seed = 0; seed < 10; seed++) {
      List<String> seen = new CopyOnWriteArrayList<>();
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                DmaFence f = new DmaFence(rt, "ring", 1);
                ThreadHandle t =
                    rt.spawn(
                        "gpu",
                        () -> {
                          rt.clock().sleep(5 * MS);
                          f.signal();
                        });
                long t0 = rt.clock().nanoTime();
                boolean early = f.waitTimeout(MS);
                long waited = rt.clock().nanoTime() - t0;
                seen.add(early + " " + (waited >= MS));
                boolean late = f.waitTimeout(100 * MS);
                seen.add(late + " " + (rt.clock().nanoTime() - t0 < 100 * MS));
                t.join();
              });
      assertOk(r);
      assertThat(seen).as("seed %d", seed).containsExactly("false true", "true true");
      assertThat(r.virtualNanos()).as("seed %d", seed).isBetween(5 * MS, 6 * MS);
    }
  }

  @Test
  void deterministic_callbacksAndWaitersSeeOneSignal() {
    for (long seed = 0; seed < 20; seed++) {
      List<String> events = new CopyOnWriteArrayList<>();
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                DmaFence f = new FenceTimeline(rt, "ring").createFence();
                List<ThreadHandle> ts = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                  int n = i;
                  ts.add(
                      rt.spawn(
                          "waiter" + i,
                          () -> {
                            f.whenSignaled(() -> events.add("cb" + n));
                            f.waitSignaled();
                            events.add("woke" + n);
                          }));
                }
                ts.add(rt.spawn("s1", () -> events.add("s1 " + f.signal())));
                ts.add(rt.spawn("s2", () -> events.add("s2 " + f.signal())));
                ts.forEach(ThreadHandle::join);
              });
      assertOk(r);
      assertThat(events)
          .as("seed %d", seed)
          .hasSize(6)
          .contains("cb0", "cb1", "woke0", "woke1")
          .containsAnyOf("s1 true", "s2 true")
          .containsAnyOf("s1 false", "s2 false");
    }
  }

  @Test
  void faultInjectedTimeout_waitTimesOutAlthoughFenceSignals() {
    Consumer<DeterministicRuntime> program =
        rt -> {
          DmaFence f = new DmaFence(rt, "ring", 1);
          ThreadHandle t =
              rt.spawn(
                  "gpu",
                  () -> {
                    rt.clock().sleep(10_000);
                    f.signal();
                  });
          long t0 = rt.clock().nanoTime();
          assertThat(f.waitTimeout(MS)).as("injected timeout").isFalse();
          assertThat(rt.clock().nanoTime() - t0).isGreaterThanOrEqualTo(MS);
          assertThat(f.isSignaled()).as("the fence did signal meanwhile").isTrue();
          assertThat(f.waitTimeout(MS)).as("a signaled fence never times out").isTrue();
          t.join();
        };
    for (long seed = 0; seed < 5; seed++) {
      assertOk(
          Simulation.run(
              SchedulerConfig.ofSeed(seed).withFaults(FaultPlan.NONE.withFenceTimeout(1)),
              program));
    }
  }
}
