package io.mmulab.sim.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class ThreadFailureTest {
  private static List<String> liveSimThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(n -> n.startsWith(DeterministicRuntime.THREAD_NAME_PREFIX))
        .sorted()
        .toList();
  }

  @Test
  void exceptionInASpawnedThread_failsTheRunAndLeavesNoThreads() {
    AtomicInteger finallies = new AtomicInteger();
    for (long seed = 0; seed < 10; seed++) {
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                Mutex m = rt.newMutex("m");
                WaitQueue wq = rt.newWaitQueue("wq");
                rt.spawn(
                    "holder",
                    () -> {
                      m.lock();
                      try {
                        wq.waitEvent(() -> false);
                      } finally {
                        finallies.incrementAndGet();
                        m.unlock();
                      }
                    });
                rt.spawn("blocked", m::lock);
                rt.spawn("sleeper", () -> rt.clock().sleep(Long.MAX_VALUE / 2));
                rt.spawn(
                    "spinner",
                    () -> {
                      while (true) {
                        rt.yieldPoint("spin");
                      }
                    });
                rt.spawn(
                    "bad",
                    () -> {
                      rt.yieldPoint("about to throw");
                      throw new IllegalStateException("boom");
                    });
                wq.waitEvent(() -> false);
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.FAILED);
      assertThat(r.failure())
          .as("seed %d", seed)
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("boom");
      assertThat(r.failedThread()).as("seed %d", seed).isEqualTo("bad");
      assertThat(r.trace().entries().get(r.trace().size() - 1))
          .as("seed %d", seed)
          .extracting(TraceEntry::thread, TraceEntry::label)
          .containsExactly("bad", "failed: java.lang.IllegalStateException: boom");
      assertThat(liveSimThreads()).as("seed %d", seed).isEmpty();
    }
    assertThat(finallies.get()).as("finally blocks of killed threads ran").isPositive();
  }

  @Test
  void deadlockAndLivelockRuns_leaveNoThreads() {
    List<Consumer<DeterministicRuntime>> programs =
        List.of(
            rt -> rt.newWaitQueue("wq").waitEvent(() -> false),
            rt -> {
              rt.spawn("parked", () -> rt.newCompletion("c").waitForCompletion());
              while (true) {
                rt.yieldPoint("spin");
              }
            });
    for (Consumer<DeterministicRuntime> p : programs) {
      RunResult r = Simulation.run(SchedulerConfig.ofSeed(1).withMaxSteps(200), p);
      assertThat(r.outcome()).as("seed 1: %s", r.report()).isIn(Outcome.DEADLOCK, Outcome.LIVELOCK);
      assertThat(liveSimThreads()).as("seed 1").isEmpty();
    }
  }

  @Test
  void aThreadThatNeverRan_isCleanedUpToo() {
    ThreadHandle[] handle = new ThreadHandle[1];
    RunResult r =
        Simulation.replay(
            SchedulerConfig.ofSeed(2),
            new int[0],
            rt -> {
              handle[0] = rt.spawn("never-ran", () -> {});
              throw new IllegalArgumentException("main fails first");
            });
    assertThat(r.outcome()).as("seed 2: %s", r.report()).isEqualTo(Outcome.FAILED);
    assertThat(r.failedThread()).isEqualTo("main");
    assertThat(r.report()).contains("never-ran: runnable");
    assertThat(handle[0].isDone()).isFalse();
    assertThatThrownBy(handle[0]::join)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("never-ran was killed");
    assertThat(liveSimThreads()).as("seed 2").isEmpty();
  }

  @Test
  void runtimeCalls_outsideTheSimulation_areRejected() {
    DeterministicRuntime rt = new DeterministicRuntime(SchedulerConfig.ofSeed(0));
    Mutex m = rt.newMutex("m");
    assertThatThrownBy(() -> rt.yieldPoint("x"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not a simulated thread");
    assertThatThrownBy(m::lock).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> rt.spawn("t", () -> {})).isInstanceOf(IllegalStateException.class);
    assertThat(m.isHeldByCurrentThread()).isFalse();
    RunResult r = rt.run(() -> {});
    assertThat(r.outcome()).isEqualTo(Outcome.OK);
    assertThatThrownBy(() -> rt.run(() -> {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("runs only once");
  }

  @Test
  void anotherRuntimesObjects_areRejectedInsideASimulation() {
    DeterministicRuntime other = new DeterministicRuntime(SchedulerConfig.ofSeed(0));
    Mutex foreign = other.newMutex("foreign");
    RunResult r = Simulation.run(SchedulerConfig.ofSeed(0), rt -> foreign.lock());
    assertThat(r.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(r.failure()).isInstanceOf(IllegalStateException.class);
  }
}
