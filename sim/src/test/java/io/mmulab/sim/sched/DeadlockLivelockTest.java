package io.mmulab.sim.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DeadlockLivelockTest {
  @Test
  void abbaLockOrder_isReportedAsDeadlockNamingThreadsLocksAndHolders() {
    Optional<RunResult> found =
        Simulation.findSeed(
            SchedulerConfig.ofSeed(0), 50, r -> r.outcome() == Outcome.DEADLOCK, Programs::abba);
    assertThat(found).as("a deadlock within seeds 0..49").isPresent();
    RunResult r = found.get();
    assertThat(r.report())
        .as("seed %d", r.seed())
        .startsWith("DEADLOCK")
        .contains("t1: waits for mutex B, held by t2")
        .contains("t2: waits for mutex A, held by t1")
        .contains("main: waits for thread t1 to finish");
    assertThat(r.failure()).as("seed %d", r.seed()).isNull();
    assertThat(Simulation.replay(r, Programs::abba).outcome())
        .as("seed %d replayed", r.seed())
        .isEqualTo(Outcome.DEADLOCK);
  }

  @Test
  void abbaDeadlock_stallNamesTheCycleOfWaitsAndWhatEachWaiterHolds() {
    RunResult r =
        Simulation.findSeed(
                SchedulerConfig.ofSeed(0), 50, x -> x.outcome() == Outcome.DEADLOCK, Programs::abba)
            .orElseThrow();

    assertThat(r.stall())
        .as("seed %d", r.seed())
        .startsWith("a cycle of waits: t1 → t2 → t1")
        .contains("t1 waits for mutex B, held by t2, holding A")
        .contains("t2 waits for mutex A, held by t1, holding B")
        .contains("main waits for thread t1 to finish");
    assertThat(Simulation.replay(r, Programs::abba).stall())
        .as("the replay stalls the same way")
        .isEqualTo(r.stall());
  }

  /**
   * t1 takes S for read and, still holding it, for read again (a nested invalidation); t2 asks for
   * S for write in between. Writer preference makes it a deadlock: t1's second read waits for the
   * queued writer, which waits for t1's first read.
   */
  private static void nestedRead(DeterministicRuntime rt) {
    RwSemaphore sem = rt.newRwSemaphore("S");
    ThreadHandle t1 =
        rt.spawn(
            "t1",
            () -> {
              sem.downRead();
              rt.yieldPoint("t1: between the outer and the nested read");
              sem.downRead();
              sem.upRead();
              sem.upRead();
            });
    ThreadHandle t2 =
        rt.spawn(
            "t2",
            () -> {
              sem.downWrite();
              sem.upWrite();
            });
    t1.join();
    t2.join();
  }

  @Test
  void nestedRead_withAWriterQueuedInBetween_isADeadlockWhoseCycleRunsThroughTheWriter() {
    RunResult r =
        Simulation.findSeed(
                SchedulerConfig.ofSeed(0),
                200,
                x -> x.outcome() == Outcome.DEADLOCK,
                DeadlockLivelockTest::nestedRead)
            .orElseThrow();

    assertThat(r.failure()).as("seed %d: no lock-rule violation", r.seed()).isNull();
    assertThat(r.stall())
        .as("seed %d", r.seed())
        .startsWith("a cycle of waits: t1 → t2 → t1")
        .contains("t1 waits for rwsem S (read), held for read by t1, writer(s) waiting: t2")
        .contains("t2 waits for rwsem S (write), held for read by t1");
  }

  @Test
  void nestedRead_withoutAWriterInBetween_succeeds() {
    assertThat(
            Simulation.findSeed(
                SchedulerConfig.ofSeed(0),
                200,
                x -> x.outcome() == Outcome.OK,
                DeadlockLivelockTest::nestedRead))
        .as("an OK run within seeds 0..199")
        .isPresent();
  }

  @Test
  void finishedRun_hasNoStall() {
    RunResult r =
        Simulation.findSeed(
                SchedulerConfig.ofSeed(0), 50, x -> x.outcome() == Outcome.OK, Programs::abba)
            .orElseThrow();

    assertThat(r.stall()).isNull();
  }

  @Test
  void abbaLockOrder_alsoRunsCleanlyForSomeSeeds() {
    assertThat(
            Simulation.findSeed(
                SchedulerConfig.ofSeed(0), 50, r -> r.outcome() == Outcome.OK, Programs::abba))
        .as("an OK run within seeds 0..49")
        .isPresent();
  }

  @Test
  void waitingForeverOnAWaitQueue_isReportedAsDeadlockNamingTheQueue() {
    RunResult r =
        Simulation.run(
            SchedulerConfig.ofSeed(7),
            rt -> {
              WaitQueue wq = rt.newWaitQueue("mm#1.notifier_wq");
              ThreadHandle h = rt.spawn("sleeper", () -> wq.waitEvent(() -> false));
              h.join();
            });
    assertThat(r.outcome()).as("seed 7: %s", r.report()).isEqualTo(Outcome.DEADLOCK);
    assertThat(r.stall())
        .as("seed 7")
        .startsWith("no thread can run and no timeout is pending")
        .contains("sleeper waits for wait queue mm#1.notifier_wq");
    assertThat(r.report())
        .as("seed 7")
        .contains("sleeper: waits for wait queue mm#1.notifier_wq")
        .contains("main: waits for thread sleeper to finish");
  }

  @Test
  void twoThreadsSpinningOnFlagsNobodySets_isReportedAsLivelock() {
    SchedulerConfig config = SchedulerConfig.ofSeed(3).withMaxSteps(500);
    RunResult r =
        Simulation.run(
            config,
            rt -> {
              boolean[] flags = new boolean[2];
              rt.spawn(
                  "spin0",
                  () -> {
                    while (!flags[1]) {
                      rt.yieldPoint("spin0 waits for flag 1");
                    }
                  });
              rt.spawn(
                  "spin1",
                  () -> {
                    while (!flags[0]) {
                      rt.yieldPoint("spin1 waits for flag 0");
                    }
                  });
            });
    assertThat(r.outcome()).as("seed 3: %s", r.report()).isEqualTo(Outcome.LIVELOCK);
    assertThat(r.steps()).as("seed 3").isEqualTo(501);
    assertThat(r.stall())
        .as("seed 3")
        .startsWith("more than 500 scheduling points")
        .contains("spin0 runnable", "spin1 runnable");
    assertThat(r.report())
        .as("seed 3")
        .startsWith("LIVELOCK")
        .contains("maxSteps=500")
        .contains("spin0: runnable [last: yield spin0 waits for flag 1]")
        .contains("spin1: runnable [last: yield spin1 waits for flag 0]");
  }

  @Test
  void sleepersWithDeadlines_areNotADeadlock() {
    RunResult r =
        Simulation.run(
            SchedulerConfig.ofSeed(1),
            rt -> {
              WaitQueue wq = rt.newWaitQueue("wq");
              ThreadHandle h = rt.spawn("timed", () -> wq.waitEventTimeout(() -> false, 1_000_000));
              h.join();
            });
    assertThat(r.outcome()).as("seed 1: %s", r.report()).isEqualTo(Outcome.OK);
  }
}
