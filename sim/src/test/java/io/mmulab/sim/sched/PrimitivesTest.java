package io.mmulab.sim.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class PrimitivesTest {
  private static RunResult ok(long seed, Consumer<DeterministicRuntime> program) {
    RunResult r = Simulation.run(SchedulerConfig.ofSeed(seed), program);
    assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
    return r;
  }

  /** Without per-step time, so a short sleep lets every other thread run until it blocks. */
  private static RunResult okExact(long seed, Consumer<DeterministicRuntime> program) {
    RunResult r = Simulation.run(SchedulerConfig.ofSeed(seed).withNanosPerStep(0), program);
    assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
    return r;
  }

  @Test
  void rwsem_admitsManyReadersOrOneWriter() {
    int maxReaders = 0;
    for (long seed = 0; seed < 20; seed++) {
      int[] readers = {0};
      int[] writers = {0};
      int[] max = {0};
      ok(
          seed,
          rt -> {
            RwSemaphore sem = rt.newRwSemaphore("sem");
            List<ThreadHandle> hs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
              boolean write = i == 0;
              hs.add(
                  rt.spawn(
                      "t" + i,
                      () -> {
                        for (int k = 0; k < 3; k++) {
                          if (write) {
                            sem.downWrite();
                            writers[0]++;
                            if (readers[0] != 0 || writers[0] != 1) {
                              throw new AssertionError("writer with company");
                            }
                            rt.yieldPoint("writing");
                            writers[0]--;
                            sem.upWrite();
                          } else {
                            sem.downRead();
                            readers[0]++;
                            max[0] = Math.max(max[0], readers[0]);
                            if (writers[0] != 0) {
                              throw new AssertionError("reader with a writer");
                            }
                            rt.yieldPoint("reading");
                            readers[0]--;
                            sem.upRead();
                          }
                        }
                      }));
            }
            hs.forEach(ThreadHandle::join);
          });
      maxReaders = Math.max(maxReaders, max[0]);
    }
    assertThat(maxReaders).as("concurrent readers over seeds 0..19").isGreaterThanOrEqualTo(2);
  }

  @Test
  void rwsem_waitingWriterBlocksNewReaders() {
    for (long seed = 0; seed < 10; seed++) {
      List<String> order = new ArrayList<>();
      boolean[] trylock = {true};
      okExact(
          seed,
          rt -> {
            RwSemaphore sem = rt.newRwSemaphore("sem");
            sem.downRead();
            ThreadHandle w =
                rt.spawn(
                    "writer",
                    () -> {
                      sem.downWrite();
                      order.add("writer");
                      sem.upWrite();
                    });
            rt.clock().sleep(1_000); // nothing else can run: the writer is now queued
            ThreadHandle r =
                rt.spawn(
                    "reader",
                    () -> {
                      trylock[0] = sem.downReadTrylock();
                      sem.downRead();
                      order.add("reader");
                      sem.upRead();
                    });
            rt.clock().sleep(1_000); // the reader is now queued behind the writer
            order.add("main releases");
            sem.upRead();
            w.join();
            r.join();
          });
      assertThat(trylock[0]).as("seed %d", seed).isFalse();
      assertThat(order).as("seed %d", seed).containsExactly("main releases", "writer", "reader");
    }
  }

  @Test
  void trylocks_failWhileHeldElsewhereAndSucceedWhenFree() {
    boolean[] got = new boolean[6];
    ok(
        3,
        rt -> {
          Mutex m = rt.newMutex("m");
          RwSemaphore sem = rt.newRwSemaphore("sem");
          m.lock();
          sem.downWrite();
          rt.spawn(
                  "other",
                  () -> {
                    got[0] = m.tryLock();
                    got[1] = sem.downReadTrylock();
                    got[2] = sem.downWriteTrylock();
                  })
              .join();
          m.unlock();
          sem.upWrite();
          got[3] = m.tryLock();
          got[4] = sem.downReadTrylock();
          got[5] = sem.downWriteTrylock(); // held for read by this thread
          m.unlock();
          sem.upRead();
        });
    assertThat(got).as("seed 3").containsExactly(false, false, false, true, true, false);
  }

  @Test
  void completion_countsCompletesAndCompleteAllLetsEveryoneThrough() {
    boolean[] got = new boolean[7];
    ok(
        4,
        rt -> {
          Completion c = rt.newCompletion("c");
          got[0] = c.isDone();
          c.complete();
          c.complete();
          got[1] = c.isDone();
          got[2] = c.waitForCompletionTimeout(10);
          got[3] = c.waitForCompletionTimeout(10);
          got[4] = c.waitForCompletionTimeout(10);
          c.completeAll();
          c.waitForCompletion();
          c.waitForCompletion();
          got[5] = c.waitForCompletionTimeout(0);
          got[6] = c.isDone();
        });
    assertThat(got).as("seed 4").containsExactly(false, true, true, true, false, true, true);
  }

  @Test
  void completion_wakesBlockedWaiters() {
    for (long seed = 0; seed < 10; seed++) {
      List<String> done = new ArrayList<>();
      okExact(
          seed,
          rt -> {
            Completion c = rt.newCompletion("c");
            List<ThreadHandle> hs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
              String n = "w" + i;
              hs.add(
                  rt.spawn(
                      n,
                      () -> {
                        c.waitForCompletion();
                        done.add(n);
                      }));
            }
            c.complete();
            c.complete();
            rt.clock().sleep(1_000);
            assertThat(done).hasSize(2);
            c.complete();
            hs.forEach(ThreadHandle::join);
          });
      assertThat(done).as("seed %d", seed).hasSize(3);
    }
  }

  @Test
  void waitQueue_neverLosesAWakeUpWhileTheConditionTakesLocks() {
    for (long seed = 0; seed < 50; seed++) {
      ok(
          seed,
          rt -> {
            Mutex m = rt.newMutex("state_lock");
            WaitQueue wq = rt.newWaitQueue("wq");
            int[] state = {0};
            rt.spawn(
                "setter",
                () -> {
                  m.lock();
                  state[0] = 1;
                  m.unlock();
                  wq.wakeUpAll();
                });
            wq.waitEvent(
                () -> {
                  m.lock();
                  try {
                    return state[0] == 1;
                  } finally {
                    m.unlock();
                  }
                });
          });
    }
  }

  @Test
  void spawn_makesDuplicateNamesUniqueAndJoinWaits() {
    List<String> names = new ArrayList<>();
    RunResult r =
        ok(
            5,
            rt -> {
              List<ThreadHandle> hs = new ArrayList<>();
              for (int i = 0; i < 3; i++) {
                hs.add(rt.spawn("worker", () -> rt.yieldPoint("work")));
              }
              for (ThreadHandle h : hs) {
                h.join();
                assertThat(h.isDone()).isTrue();
                names.add(h.name());
              }
            });
    assertThat(names).as("seed 5").containsExactly("worker", "worker#2", "worker#3");
    assertThat(r.trace().render()).contains("worker#3: end");
  }

  @Test
  void note_addsATraceEventWithoutASchedulingPoint() {
    RunResult r =
        ok(
            7,
            rt -> {
              rt.yieldPoint("before");
              rt.note("device reads frame 42");
              rt.yieldPoint("after");
            });
    assertThat(r.trace().entries())
        .as("seed 7")
        .extracting(TraceEntry::step, TraceEntry::thread, TraceEntry::label)
        .containsSubsequence(
            org.assertj.core.groups.Tuple.tuple(0L, "main", "yield before"),
            org.assertj.core.groups.Tuple.tuple(1L, "main", "device reads frame 42"),
            org.assertj.core.groups.Tuple.tuple(1L, "main", "yield after"));
  }

  @Test
  void negativeTimeouts_areRejected() {
    RunResult r =
        Simulation.run(
            SchedulerConfig.ofSeed(6),
            rt -> rt.newWaitQueue("wq").waitEventTimeout(() -> true, -1));
    assertThat(r.failure())
        .as("seed 6")
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("negative timeout -1 on wq");
    RunResult s = Simulation.run(SchedulerConfig.ofSeed(6), rt -> rt.clock().sleep(-5));
    assertThat(s.failure()).as("seed 6").hasMessageContaining("negative sleep -5");
  }

  @Test
  void config_rejectsBadValuesByName() {
    assertThatThrownBy(() -> SchedulerConfig.ofSeed(1).withMaxSteps(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxSteps")
        .hasMessageContaining("0");
    assertThatThrownBy(() -> SchedulerConfig.ofSeed(1).withNanosPerStep(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nanosPerStep");
    assertThatThrownBy(() -> SchedulerConfig.ofSeed(1).withFaults(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("faults");
    assertThat(SchedulerConfig.ofSeed(9))
        .isEqualTo(
            new SchedulerConfig(
                9,
                SchedulerConfig.DEFAULT_MAX_STEPS,
                SchedulerConfig.DEFAULT_NANOS_PER_STEP,
                FaultPlan.NONE));
  }
}
