package io.mmulab.sim.gpu;

import static io.mmulab.sim.gpu.GpuRig.PAGE;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.dev.DeviceFault;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.sched.DeterministicRuntime;
import io.mmulab.sim.sched.FaultPlan;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The simulated GPU under the deterministic runtime: the fence-wait model of docs/notifier.md
 * ("With fences") (submission under the driver lock after {@code readRetry}, the callback waiting
 * the BO's resv) racing munmap, over seeds, with and without the device fault knobs.
 */
class DeterministicGpuTest {
  private static final long FIRST_SEED = Long.getLong("mmulab.seed", 1L);
  private static final int SEEDS = Integer.getInteger("mmulab.seeds", 20);
  private static final int ROUNDS = 3;

  // Coverage of the race, counted over the runs of the correct driver (one simulated thread runs
  // at a time, and runs are sequential).
  private static int callbacksWithBusyResv;
  private static int submissionsRetried;

  /** The driver's behaviour in its invalidate callback. */
  private enum Callback {
    /** set_seq under the lock, wait for the resv, unbind + flush: correct. */
    FENCE_WAIT,
    /** set_seq only: the binding and the jobs using it outlive the callback. */
    BROKEN
  }

  @Test
  void fenceWaitDriver_racingMunmap_okCleanAndSameTraceForTheSameSeed() {
    FaultPlan knobs =
        FaultPlan.NONE.withDmaCompletionDelayMaxSteps(3).withDmaReorder(0.3).withFenceTimeout(0.3);
    callbacksWithBusyResv = 0;
    submissionsRetried = 0;
    for (FaultPlan faults : List.of(FaultPlan.NONE, knobs)) {
      for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
        SchedulerConfig config = SchedulerConfig.ofSeed(seed).withFaults(faults);
        RunResult a = Simulation.run(config, program(Callback.FENCE_WAIT));
        assertThat(a.outcome())
            .as("seed %d, faults %s (replay with -Dmmulab.seed=%d):%n%s", seed, faults, seed, a)
            .isEqualTo(Outcome.OK);
        RunResult b = Simulation.run(config, program(Callback.FENCE_WAIT));
        assertThat(b.trace())
            .as("seed %d, first difference at %d", seed, a.trace().firstDifference(b.trace()))
            .isEqualTo(a.trace());
      }
    }
    System.out.printf(
        "simulated GPU, fence-wait driver racing munmap: %d seeds from %d OK and clean, with and"
            + " without fault knobs; %d callbacks waited for a busy resv, %d submissions retried%n",
        SEEDS, FIRST_SEED, callbacksWithBusyResv, submissionsRetried);
    assertThat(callbacksWithBusyResv)
        .as("schedules where the callback had a job to wait for")
        .isPositive();
  }

  @Test
  void brokenCallback_aStaleGpuAccessIsFoundWithinTheSeeds() {
    Optional<RunResult> failing =
        Simulation.findSeed(
            SchedulerConfig.ofSeed(FIRST_SEED),
            200,
            r -> r.outcome() == Outcome.FAILED && String.valueOf(r.failure()).contains("STALE_USE"),
            program(Callback.BROKEN));
    assertThat(failing)
        .as("a schedule where a job uses the binding after the callback")
        .isPresent();
    System.out.printf(
        "simulated GPU, callback without wait/unbind: STALE_USE at seed %d (%d steps)%n",
        failing.get().seed(), failing.get().steps());
  }

  @Test
  void resvWaitIdle_timesOutInVirtualTime_onAJobBlockedOnAFault() {
    RunResult r =
        Simulation.run(
            SchedulerConfig.ofSeed(FIRST_SEED),
            rt -> {
              try {
                GpuRig rig = new GpuRig(rt);
                long base = rig.populated(1);
                SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.SHADOW_PTE, true);
                GpuVm vm = gpu.newVm(rig.proc);
                GpuJob job = GpuJob.builder("svm").read(base, 1).build();
                gpu.submit(vm, job, List.of());
                DeviceFault fault = vm.faultQueue().take();
                long t0 = rt.clock().nanoTime();
                assertThat(vm.resv().waitIdle(5_000_000)).isFalse();
                assertThat(rt.clock().nanoTime() - t0).isGreaterThanOrEqualTo(5_000_000);
                assertThat(vm.resv().isIdle()).isFalse();
                fault.cancel();
                assertThat(vm.resv().waitIdle(5_000_000)).isTrue();
                assertThat(job.error().errno()).isEqualTo(Errno.EFAULT);
                gpu.shutdown();
                vm.tearDown();
                rig.checker.assertClean();
              } catch (ErrnoException e) {
                throw new AssertionError(e);
              }
            });
    assertThat(r.outcome()).as("%s", r).isEqualTo(Outcome.OK);
    assertThat(r.virtualNanos()).isGreaterThanOrEqualTo(5_000_000);
  }

  @Test
  void fenceWaitCallback_blocksMunmapUntilAGatedJobIsDone() {
    for (long seed = FIRST_SEED; seed < FIRST_SEED + 5; seed++) {
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                try {
                  gatedJobAgainstMunmap(rt);
                } catch (ErrnoException e) {
                  throw new AssertionError(e);
                }
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
    }
  }

  private static void gatedJobAgainstMunmap(DeterministicRuntime rt) throws ErrnoException {
    GpuRig rig = new GpuRig(rt);
    long base = rig.populated(1);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.FENCE_WAIT, false);
    GpuVm vm = gpu.newVm(rig.proc);
    GpuBo bo = new GpuBo(gpu, "userptr0", base, PAGE);
    Mutex lock = rt.newMutex("drv.lock");
    List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
    MmuIntervalNotifier sub =
        rig.subscribe(
            vm,
            base,
            PAGE,
            lock,
            (s, range, seq) -> {
              lock.lock();
              try {
                s.setSeq(seq);
              } finally {
                lock.unlock();
              }
              bo.resv().waitIdle();
              bo.unbindFrom(vm);
              order.add("callback returns");
            });
    rig.pin(bo);
    bo.bindInto(vm);
    DmaFence gate = new DmaFence(rt, "gate", 1);
    GpuJob job = GpuJob.builder("held").waitFor(gate).write(base + 8, 7).build();
    gpu.submit(vm, job, List.of(bo)).addCallback(() -> order.add("job done"));
    ThreadHandle cpu =
        rt.spawn(
            "munmap",
            () -> {
              try {
                rig.proc.munmap(base, PAGE);
              } catch (ErrnoException e) {
                throw new AssertionError(e);
              }
            });
    for (int i = 0; i < 20; i++) {
      rt.yieldPoint("test: munmap and engine run");
    }
    assertThat(order).isEmpty(); // the callback waits for the gated job
    gate.signal();
    cpu.join();
    assertThat(order).containsExactly("job done", "callback returns");
    assertThat(rig.machine.memory().rawReadLong(bo.pfns()[0], 8)).isEqualTo(7);
    bo.releasePages();
    gpu.shutdown();
    sub.remove();
    vm.tearDown();
    rig.checker.assertClean();
  }

  @Test
  void forgottenShutdown_isADeadlockNamingTheRing() {
    RunResult r =
        Simulation.run(
            SchedulerConfig.ofSeed(FIRST_SEED),
            rt -> {
              GpuRig rig = new GpuRig(rt);
              new SimGpu(rig.machine, "gpu0", CoherencyModel.FENCE_WAIT, false);
            });
    assertThat(r.outcome()).isEqualTo(Outcome.DEADLOCK);
    assertThat(r.report()).contains("gpu0.ring.work");
  }

  private static Consumer<DeterministicRuntime> program(Callback callback) {
    return rt -> {
      try {
        scenario(rt, callback);
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    };
  }

  /**
   * A userptr BO of two pages; a submitter thread revalidates (pin), checks readRetry under the
   * driver lock, binds, submits a job reading and writing the BO, and releases the lock, for {@link
   * #ROUNDS} rounds; a CPU thread munmaps the range meanwhile.
   */
  private static void scenario(DeterministicRuntime rt, Callback callback) throws ErrnoException {
    GpuRig rig = new GpuRig(rt);
    long base = rig.populated(2);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.FENCE_WAIT, false);
    GpuVm vm = gpu.newVm(rig.proc);
    GpuBo bo = new GpuBo(gpu, "userptr0", base, 2 * PAGE);
    Mutex lock = rt.newMutex("drv.lock");
    MmuIntervalNotifier sub =
        rig.subscribe(
            vm,
            base,
            2 * PAGE,
            lock,
            (s, range, seq) -> {
              lock.lock();
              try {
                s.setSeq(seq);
              } finally {
                lock.unlock();
              }
              if (callback == Callback.FENCE_WAIT) {
                if (!bo.resv().isIdle()) {
                  callbacksWithBusyResv++;
                }
                bo.resv().waitIdle();
                bo.unbindFrom(vm);
              }
            });
    ThreadHandle submitter =
        rt.spawn(
            "submitter",
            () -> {
              try {
                submitRounds(rt, rig, gpu, vm, bo, sub, lock);
              } catch (ErrnoException e) {
                throw new AssertionError(e);
              }
            });
    ThreadHandle cpu =
        rt.spawn(
            "munmap",
            () -> {
              for (int i = 0; i < 8; i++) {
                rt.yieldPoint("munmap: not yet");
              }
              try {
                rig.proc.munmap(base, 2 * PAGE);
              } catch (ErrnoException e) {
                throw new AssertionError(e);
              }
            });
    submitter.join();
    cpu.join();
    gpu.shutdown();
    sub.remove();
    vm.tearDown();
    rig.checker.assertClean();
  }

  private static void submitRounds(
      DeterministicRuntime rt,
      GpuRig rig,
      SimGpu gpu,
      GpuVm vm,
      GpuBo bo,
      MmuIntervalNotifier sub,
      Mutex lock)
      throws ErrnoException {
    long base = bo.start();
    for (int round = 0; round < ROUNDS; round++) {
      DmaFence fence;
      GpuJob job;
      while (true) {
        long seq = sub.readBegin();
        try {
          rig.pin(bo);
        } catch (ErrnoException e) {
          assertThat(e.errno()).isEqualTo(Errno.EFAULT); // unmapped: the BO is gone
          return;
        }
        rt.yieldPoint("submitter: pages pinned");
        lock.lock();
        try {
          if (sub.readRetry(seq)) {
            submissionsRetried++;
            bo.releasePages(); // never bound: -EAGAIN and retry
            continue;
          }
          bo.bindInto(vm);
          job =
              GpuJob.builder("r" + round)
                  .read(base, 1)
                  .write(base + PAGE + 8, round)
                  .read(base + PAGE, 1)
                  .build();
          fence = gpu.submit(vm, job, List.of(bo));
        } finally {
          lock.unlock();
        }
        break;
      }
      fence.waitSignaled();
      assertThat(job.error()).as("%s", job).isNull();
      assertThat(job.readResult(0)).containsExactly(100);
      assertThat(job.readResult(2)).containsExactly(101);
      lock.lock();
      try {
        bo.unbindFrom(vm);
      } finally {
        lock.unlock();
      }
      bo.releasePages();
    }
  }
}
