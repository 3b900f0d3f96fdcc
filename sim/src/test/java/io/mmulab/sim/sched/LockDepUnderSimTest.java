package io.mmulab.sim.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.sync.Lockable;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.core.LockDep;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class LockDepUnderSimTest {
  private static RunResult failing(long seed, Consumer<DeterministicRuntime> program) {
    RunResult r = Simulation.run(SchedulerConfig.ofSeed(seed), program);
    assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.FAILED);
    return r;
  }

  @Test
  void mutexUnderSpinLock_failsTheRunWithSleepWhileAtomic() {
    RunResult r =
        failing(
            11,
            rt -> {
              SpinLock spin = rt.newSpinLock("pt_lock");
              Mutex m = rt.newMutex("notifier_lock");
              rt.spawn(
                      "driver",
                      () -> {
                        spin.lock();
                        m.lock();
                      })
                  .join();
            });
    assertThat(r.failure())
        .as("seed 11")
        .isInstanceOfSatisfying(
            LockRuleViolation.class,
            v -> assertThat(v.rule()).isEqualTo(LockRule.SLEEP_WHILE_ATOMIC));
    assertThat(r.failure().getMessage()).contains("sim/driver").contains("pt_lock");
    assertThat(r.failedThread()).as("seed 11").isEqualTo("driver");
    assertThat(r.report()).as("seed 11").contains("driver threw").contains("SLEEP_WHILE_ATOMIC");
  }

  @Test
  void sleepAndWaitsUnderSpinLock_failWithSleepWhileAtomic() {
    List<Consumer<DeterministicRuntime>> sleepers =
        List.of(
            rt -> rt.clock().sleep(10),
            rt -> rt.newWaitQueue("wq").waitEvent(() -> true),
            rt -> rt.newCompletion("c").waitForCompletionTimeout(10),
            rt -> rt.newRwSemaphore("sem").downRead());
    for (Consumer<DeterministicRuntime> sleeper : sleepers) {
      RunResult r =
          failing(
              12,
              rt -> {
                rt.newSpinLock("spin").lock();
                sleeper.accept(rt);
              });
      assertThat(((LockRuleViolation) r.failure()).rule())
          .as("seed 12: %s", r.report())
          .isEqualTo(LockRule.SLEEP_WHILE_ATOMIC);
    }
  }

  @Test
  void recursiveLock_isReportedNotDeadlocked() {
    RunResult r =
        failing(
            13,
            rt -> {
              Mutex m = rt.newMutex("m");
              m.lock();
              m.lock();
            });
    assertThat(((LockRuleViolation) r.failure()).rule())
        .as("seed 13")
        .isEqualTo(LockRule.RECURSIVE_LOCK);
  }

  @Test
  void unlockByANonHolder_isReported() {
    RunResult r =
        failing(
            14,
            rt -> {
              Mutex m = rt.newMutex("m");
              rt.spawn("holder", m::lock).join();
              m.unlock();
            });
    assertThat(((LockRuleViolation) r.failure()).rule())
        .as("seed 14")
        .isEqualTo(LockRule.UNLOCK_NOT_HELD);
  }

  @Test
  void upReadWithoutReadHeld_isReported() {
    RunResult r =
        failing(
            15,
            rt -> {
              RwSemaphore sem = rt.newRwSemaphore("sem");
              sem.downWrite();
              sem.upRead();
            });
    assertThat(((LockRuleViolation) r.failure()).rule())
        .as("seed 15")
        .isEqualTo(LockRule.UNLOCK_NOT_HELD);
    assertThat(r.failure().getMessage()).contains("upRead on sem");
  }

  @Test
  void heldLocks_areTrackedPerSimulatedThread() {
    List<String> seen = new ArrayList<>();
    for (long seed = 0; seed < 10; seed++) {
      seen.clear();
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                Mutex a = rt.newMutex("a");
                RwSemaphore sem = rt.newRwSemaphore("sem");
                SpinLock s = rt.newSpinLock("s");
                rt.spawn(
                    "x",
                    () -> {
                      a.lock();
                      rt.yieldPoint("x holds a");
                      seen.add("x:" + names(LockDep.heldLocks()) + a.isHeldByCurrentThread());
                      a.unlock();
                    });
                rt.spawn(
                    "y",
                    () -> {
                      sem.downRead();
                      s.lock();
                      rt.yieldPoint("y holds sem, s");
                      seen.add(
                          "y:"
                              + names(LockDep.heldLocks())
                              + a.isHeldByCurrentThread()
                              + sem.isReadHeldByCurrentThread()
                              + sem.isWriteHeldByCurrentThread());
                      s.unlock();
                      sem.upRead();
                      seen.add("y:" + LockDep.holdsAnyLock());
                    });
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
      assertThat(seen)
          .as("seed %d", seed)
          .containsExactlyInAnyOrder("x:[a]true", "y:[sem, s]falsetruefalse", "y:false");
    }
  }

  private static List<String> names(List<Lockable> locks) {
    return locks.stream().map(Lockable::name).toList();
  }
}
