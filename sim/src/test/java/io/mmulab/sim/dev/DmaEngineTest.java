package io.mmulab.sim.dev;

import static io.mmulab.sim.dev.Rig.PAGE;
import static io.mmulab.sim.dev.Rig.VA;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.sched.DeterministicRuntime;
import io.mmulab.sim.sched.FaultPlan;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class DmaEngineTest {
  private static final int PAGES = 2;

  /** A device with {@code PAGES} CPU pages mapped writable from {@link Rig#VA}. */
  private static DeviceMmu mappedDevice(Rig rig) {
    DeviceMmu mmu = rig.device("gpu0", CoherencyModel.FENCE_WAIT);
    for (int p = 0; p < PAGES; p++) {
      long va = VA + p * PAGE;
      mmu.map(va, rig.cpuPage(va, 1000 + p), true);
    }
    return mmu;
  }

  /** Job {@code i}: write {@code i} to its own word, then read it and the first word back. */
  private static DmaJob writeThenRead(DeviceMmu mmu, int i) {
    long va = VA + 8 + i * 8L;
    return DmaJob.builder("j" + i).write(mmu, va, i).read(mmu, va, 1).read(mmu, VA, 1).build();
  }

  // ---------------------------------------------------------------------------------------------
  // Real threads

  @Test
  void realRuntime_jobsReadAndWriteFramesThroughTranslations() {
    SyncRuntime rt = RealSyncRuntime.get();
    Rig rig = new Rig(rt);
    DeviceMmu mmu = mappedDevice(rig);
    DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 4, 2).start();
    List<DmaJob> jobs = new CopyOnWriteArrayList<>();
    List<ThreadHandle> submitters = new ArrayList<>();
    for (int s = 0; s < 2; s++) {
      int base = s * 20;
      submitters.add(
          rt.spawn(
              "submitter" + s,
              () -> {
                for (int i = base; i < base + 20; i++) {
                  DmaJob j = writeThenRead(mmu, i);
                  engine.submit(j);
                  jobs.add(j);
                }
              }));
    }
    submitters.forEach(ThreadHandle::join);
    for (DmaJob j : jobs) {
      assertThat(j.fence().waitTimeout(30_000_000_000L)).as("%s", j).isTrue();
    }
    engine.shutdown();

    assertThat(jobs).hasSize(40);
    for (DmaJob j : jobs) {
      int i = Integer.parseInt(j.name().substring(1));
      assertThat(j.error()).isNull();
      assertThat(j.readResult(1)).containsExactly(i);
      assertThat(j.readResult(2)).containsExactly(1000);
      long pfn = mmu.lookup(VA + 8 + i * 8L).pfn();
      assertThat(rig.memory.rawReadLong(pfn, (int) ((8 + i * 8L) % PAGE))).isEqualTo(i);
    }
    assertThat(engine.completedJobs()).isEqualTo(40);
    assertThat(engine.timeline().lastSeqno()).isEqualTo(40);
    rig.checker.assertClean();
  }

  @Test
  void oneEngineThread_signalsInSubmissionOrder() {
    SyncRuntime rt = RealSyncRuntime.get();
    Rig rig = new Rig(rt);
    DeviceMmu mmu = mappedDevice(rig);
    DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 16, 1).start();
    List<Long> signalled = new CopyOnWriteArrayList<>();
    List<DmaFence> fences = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      DmaFence f = engine.submit(writeThenRead(mmu, i));
      f.whenSignaled(() -> signalled.add(f.seqno()));
      fences.add(f);
    }
    engine.shutdown();

    assertThat(fences).allSatisfy(f -> assertThat(f.isSignaled()).isTrue());
    assertThat(signalled).hasSize(30).isSorted();
  }

  @Test
  void failingCommand_failsTheJobAndSkipsTheRest() {
    SyncRuntime rt = RealSyncRuntime.get();
    Rig rig = new Rig(rt);
    DeviceMmu mmu = mappedDevice(rig);
    DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 4, 1).start();
    long unmapped = VA + 16 * PAGE;
    DmaJob bad =
        DmaJob.builder("bad").read(mmu, VA, 1).read(mmu, unmapped, 1).write(mmu, VA, 5).build();
    DmaJob good = writeThenRead(mmu, 3);

    engine.submit(bad);
    engine.submit(good);
    good.fence().waitSignaled();
    engine.shutdown();

    assertThat(bad.error()).isNotNull();
    assertThat(bad.error().errno()).isEqualTo(Errno.EFAULT);
    assertThat(bad.readResult(0)).containsExactly(1000);
    assertThatThrownBy(() -> bad.readResult(1)).isInstanceOf(IllegalStateException.class);
    assertThat(rig.memory.rawReadLong(mmu.lookup(VA).pfn(), 0)).as("write skipped").isEqualTo(1000);
    assertThat(good.error()).isNull();
    assertThat(engine.failedJobs()).isEqualTo(1);
    assertThat(engine.completedJobs()).isEqualTo(1);
  }

  @Test
  void shutdownNow_cancelsQueuedJobs_andRefusesNewOnes() {
    SyncRuntime rt = RealSyncRuntime.get();
    Rig rig = new Rig(rt);
    DeviceMmu mmu = mappedDevice(rig);
    DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 8, 1); // never started
    List<DmaFence> fences = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      fences.add(engine.submit(writeThenRead(mmu, i)));
    }

    engine.shutdownNow();

    assertThat(fences).allSatisfy(f -> assertThat(f.error().errno()).isEqualTo(Errno.EINTR));
    assertThat(engine.failedJobs()).isEqualTo(3);
    assertThatThrownBy(() -> engine.submit(writeThenRead(mmu, 9)))
        .isInstanceOf(IllegalStateException.class);
    DmaJob once = writeThenRead(mmu, 1);
    DmaEngine other = new DmaEngine(rt, "other", 2, 1);
    other.submit(once);
    assertThatThrownBy(() -> other.submit(once)).isInstanceOf(IllegalStateException.class);
    other.shutdownNow();
    engine.shutdown(); // idempotent
  }

  // ---------------------------------------------------------------------------------------------
  // Deterministic runtime

  /** Two submitters, two engine threads; everything checked inside the run. */
  private static Consumer<DeterministicRuntime> busyProgram(
      AtomicReference<CoherencyChecker> checkerOut) {
    return rt -> {
      Rig rig = new Rig(rt);
      checkerOut.set(rig.checker);
      DeviceMmu mmu = mappedDevice(rig);
      DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 2, 2).start();
      List<DmaJob> jobs = new ArrayList<>();
      List<ThreadHandle> submitters = new ArrayList<>();
      for (int s = 0; s < 2; s++) {
        int base = s * 3;
        submitters.add(
            rt.spawn(
                "submitter" + s,
                () -> {
                  for (int i = base; i < base + 3; i++) {
                    DmaJob j = writeThenRead(mmu, i);
                    engine.submit(j).waitSignaled();
                    synchronized (jobs) {
                      jobs.add(j);
                    }
                  }
                }));
      }
      submitters.forEach(ThreadHandle::join);
      engine.shutdown();
      assertThat(jobs).hasSize(6);
      for (DmaJob j : jobs) {
        int i = Integer.parseInt(j.name().substring(1));
        assertThat(j.error()).isNull();
        assertThat(j.readResult(1)).containsExactly(i);
        assertThat(j.readResult(2)).containsExactly(1000);
      }
    };
  }

  @Test
  void submitWithBeforeQueued_seesTheFenceBeforeTheJobCanRun() {
    SyncRuntime rt = RealSyncRuntime.get();
    Rig rig = new Rig(rt);
    DeviceMmu mmu = mappedDevice(rig);
    DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 4, 1).start();
    List<String> seen = new ArrayList<>();
    DmaJob job = writeThenRead(mmu, 3);
    DmaFence fence =
        engine.submit(
            job,
            f -> {
              seen.add(f.name() + (f.isSignaled() ? " signaled" : " pending"));
              assertThat(job.fence()).isSameAs(f);
            });
    assertThat(fence.waitTimeout(30_000_000_000L)).isTrue();
    assertThat(seen).containsExactly("gpu0.ring#1 pending");
    assertThat(job.readResult(1)).containsExactly(3);

    DmaJob refused = writeThenRead(mmu, 4);
    assertThatThrownBy(
            () ->
                engine.submit(
                    refused,
                    f -> {
                      throw new IllegalStateException("driver says no");
                    }))
        .hasMessageContaining("driver says no");
    assertThat(refused.fence().isSignaled()).isTrue();
    assertThat(refused.error().errno()).isEqualTo(Errno.EINTR);
    engine.shutdown();
    assertThat(engine.completedJobs()).isEqualTo(1);
    assertThat(engine.failedJobs()).isEqualTo(1);
    assertThat(rig.memory.rawReadLong(mmu.lookup(VA).pfn(), 8 + 4 * 8)).isZero(); // never ran
    rig.checker.assertClean();
  }

  @Test
  void waitCommand_holdsTheJobInFlightUntilItsGateSignals() {
    for (long seed = 0; seed < 5; seed++) {
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                Rig rig = new Rig(rt);
                DeviceMmu mmu = mappedDevice(rig);
                DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 4, 1).start();
                DmaFence gate = new DmaFence(rt, "gate", 1);
                DmaJob job =
                    DmaJob.builder("gated").write(mmu, VA, 1).await(gate).write(mmu, VA, 2).build();
                assertThat(job.commands().get(1).kind()).isEqualTo(DmaCommand.Kind.WAIT);
                assertThat(job.commands().get(1)).hasToString("WAIT gate#1");
                DmaFence f = engine.submit(job);
                for (int i = 0; i < 30; i++) {
                  rt.yieldPoint("test: engine runs");
                }
                assertThat(f.isSignaled()).isFalse();
                assertThat(rig.memory.rawReadLong(mmu.lookup(VA).pfn(), 0)).isEqualTo(1);
                gate.signal();
                f.waitSignaled();
                assertThat(f.error()).isNull();
                assertThat(rig.memory.rawReadLong(mmu.lookup(VA).pfn(), 0)).isEqualTo(2);
                engine.shutdown();
                rig.checker.assertClean();
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
    }
  }

  @Test
  void deterministic_manySeeds_finishOkAndClean() {
    for (long seed = 0; seed < 30; seed++) {
      AtomicReference<CoherencyChecker> checker = new AtomicReference<>();
      RunResult r = Simulation.run(SchedulerConfig.ofSeed(seed), busyProgram(checker));
      assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
      assertThat(checker.get().violations()).as("seed %d", seed).isEmpty();
    }
  }

  @Test
  void deterministic_sameSeed_sameTrace() {
    FaultPlan faults = FaultPlan.NONE.withDmaCompletionDelayMaxSteps(3).withDmaReorder(0.5);
    for (long seed = 100; seed < 105; seed++) {
      SchedulerConfig config = SchedulerConfig.ofSeed(seed).withFaults(faults);
      RunResult a = Simulation.run(config, busyProgram(new AtomicReference<>()));
      RunResult b = Simulation.run(config, busyProgram(new AtomicReference<>()));
      assertThat(a.outcome()).as("seed %d: %s", seed, a).isEqualTo(Outcome.OK);
      assertThat(b.trace())
          .as("seed %d, first difference at %d", seed, a.trace().firstDifference(b.trace()))
          .isEqualTo(a.trace());
      assertThat(Simulation.replay(a, busyProgram(new AtomicReference<>())).trace())
          .as("replay of seed %d", seed)
          .isEqualTo(a.trace());
    }
  }

  @Test
  void deterministic_shutdownDrainsQueuedJobs() {
    for (long seed = 0; seed < 10; seed++) {
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                Rig rig = new Rig(rt);
                DeviceMmu mmu = mappedDevice(rig);
                DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 8, 1).start();
                List<DmaFence> fences = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                  fences.add(engine.submit(writeThenRead(mmu, i)));
                }
                engine.shutdown();
                assertThat(fences)
                    .allSatisfy(
                        f -> {
                          assertThat(f.isSignaled()).isTrue();
                          assertThat(f.error()).isNull();
                        });
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
    }
  }

  @Test
  void deterministic_forgottenShutdown_isADeadlock() {
    RunResult r =
        Simulation.run(
            SchedulerConfig.ofSeed(1),
            rt -> {
              Rig rig = new Rig(rt);
              DeviceMmu mmu = mappedDevice(rig);
              DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 8, 1).start();
              engine.submit(writeThenRead(mmu, 0)).waitSignaled();
            });
    assertThat(r.outcome()).as("%s", r).isEqualTo(Outcome.DEADLOCK);
    assertThat(r.report()).contains("gpu0.ring.work");
  }

  /** Submits two jobs before starting one engine thread; returns the seqnos in signal order. */
  private static List<Long> signalOrder(FaultPlan faults, long seed) {
    List<Long> order = new CopyOnWriteArrayList<>();
    RunResult r =
        Simulation.run(
            SchedulerConfig.ofSeed(seed).withFaults(faults),
            rt -> {
              Rig rig = new Rig(rt);
              DeviceMmu mmu = mappedDevice(rig);
              DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 8, 1);
              for (int i = 0; i < 2; i++) {
                DmaFence f = engine.submit(writeThenRead(mmu, i));
                f.addCallback(() -> order.add(f.seqno()));
              }
              engine.start();
              engine.shutdown();
            });
    assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
    return order;
  }

  @Test
  void reorderKnob_signalsTheSecondJobFirst() {
    for (long seed = 0; seed < 5; seed++) {
      assertThat(signalOrder(FaultPlan.NONE, seed)).as("seed %d", seed).containsExactly(1L, 2L);
      assertThat(signalOrder(FaultPlan.NONE.withDmaReorder(1), seed))
          .as("seed %d", seed)
          .containsExactly(2L, 1L);
    }
  }

  @Test
  void completionDelayKnob_holdsBackSignals() {
    FaultPlan delay = FaultPlan.NONE.withDmaCompletionDelayMaxSteps(20);
    long delayed = 0;
    for (long seed = 0; seed < 5; seed++) {
      AtomicReference<CoherencyChecker> checker = new AtomicReference<>();
      RunResult plain = Simulation.run(SchedulerConfig.ofSeed(seed), busyProgram(checker));
      RunResult r =
          Simulation.run(SchedulerConfig.ofSeed(seed).withFaults(delay), busyProgram(checker));
      assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
      assertThat(plain.trace().render()).doesNotContain("holds back completion");
      delayed +=
          r.trace().entries().stream()
              .filter(e -> e.label().contains("holds back completion"))
              .count();
    }
    assertThat(delayed).as("delay steps over 5 seeds x 6 jobs").isGreaterThan(100);
  }
}
