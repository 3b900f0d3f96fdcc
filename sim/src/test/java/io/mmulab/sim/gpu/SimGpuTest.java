package io.mmulab.sim.gpu;

import static io.mmulab.sim.gpu.GpuRig.PAGE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.Mutex;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.mem.FrameState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The simulated GPU on real threads: jobs, resvs, stale bindings, replayable faults. */
class SimGpuTest {
  private static final long WAIT = 30_000_000_000L;

  private final GpuRig rig = new GpuRig(RealSyncRuntime.get());

  @Test
  void jobsReadAndWriteFramesThroughBoundTranslations() throws ErrnoException {
    long base = rig.populated(2);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.FENCE_WAIT, false);
    GpuVm vm = gpu.newVm(rig.proc);
    GpuBo bo = new GpuBo(gpu, "bo0", base, 2 * PAGE);
    rig.pin(bo);
    bo.bindInto(vm);
    assertThat(bo.placement()).isEqualTo(GpuBo.Placement.GTT);
    assertThat(vm.deviceId()).isEqualTo("gpu0.vm0");
    assertThat(vm.mmu().lookup(base + PAGE).pfn()).isEqualTo(bo.pfns()[1]);

    GpuJob job =
        GpuJob.builder("j0").read(base, 1).write(base + 8, 77, 78).read(base + PAGE, 1).build();
    DmaFence fence = gpu.submit(vm, job, List.of(bo));
    assertThat(job.fence()).isSameAs(fence);
    assertThat(bo.resv().waitIdle(WAIT)).isTrue();
    assertThat(fence.isSignaled()).isTrue();
    assertThat(vm.resv().isIdle()).isTrue();
    assertThat(job.error()).isNull();
    assertThat(job.readResult(0)).containsExactly(100);
    assertThat(job.readResult(2)).containsExactly(101);
    assertThat(rig.proc.load(base + 8)).isEqualTo(77); // the GPU wrote the CPU's frame
    assertThat(rig.proc.load(base + 16)).isEqualTo(78);

    bo.unbindFrom(vm);
    assertThat(bo.placement()).isEqualTo(GpuBo.Placement.CPU);
    assertThat(vm.mmu().mappedPages()).isZero();
    assertThat(bo.releasePages()).isEqualTo(2);
    gpu.shutdown();
    vm.tearDown();
    rig.checker.assertClean();
    assertThat(gpu.engine().completedJobs()).isEqualTo(1);
  }

  @Test
  void resvWaitsForEveryFenceOfItsJobs() throws ErrnoException {
    long base = rig.populated(1);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.FENCE_WAIT, false);
    GpuVm vm = gpu.newVm(rig.proc);
    GpuBo bo = new GpuBo(gpu, "bo0", base, PAGE);
    rig.pin(bo);
    bo.bindInto(vm);
    for (int i = 0; i < 20; i++) {
      gpu.submit(vm, GpuJob.builder("j" + i).write(base + 8, i).build(), List.of(bo));
    }
    bo.resv().waitIdle();
    assertThat(bo.resv().isIdle()).isTrue();
    assertThat(bo.resv().fences()).isEmpty();
    assertThat(rig.proc.load(base + 8)).isEqualTo(19); // one engine thread: submission order
    assertThat(gpu.timeline().lastSeqno()).isEqualTo(20);
    bo.unbindFrom(vm);
    bo.releasePages();
    gpu.shutdown();
    assertThatThrownBy(
            () -> gpu.submit(vm, GpuJob.builder("late").read(base, 1).build(), List.of()))
        .isInstanceOf(IllegalStateException.class);
    vm.tearDown();
    rig.checker.assertClean();
  }

  @Test
  void nonReplayableVm_aMissingTranslationFailsTheJobsFence() throws ErrnoException {
    long base = rig.populated(2);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.SHADOW_PTE, false);
    GpuVm vm = gpu.newVm(rig.proc);
    assertThat(vm.faultQueue()).isNull();
    vm.bind(base, rig.proc.pte(base).pfn(), true);
    GpuJob job = GpuJob.builder("j").write(base, 5).write(base + PAGE, 6).build();
    DmaFence fence = gpu.submit(vm, job, List.of());
    assertThat(fence.waitTimeout(WAIT)).isTrue();
    assertThat(job.error()).isNotNull();
    assertThat(job.error().errno()).isEqualTo(Errno.EFAULT);
    assertThat(rig.proc.load(base)).isEqualTo(5); // the first command ran
    assertThat(rig.proc.load(base + PAGE)).isEqualTo(101);
    vm.unbindRange(base, base + 2 * PAGE);
    gpu.shutdown();
    vm.tearDown();
    rig.checker.assertClean();
  }

  // ---------------------------------------------------------------------------------------------
  // Stale bindings are checker violations

  @Test
  void brokenCallback_munmapLeavesAPinnedBinding_jobIsStaleUse() throws ErrnoException {
    long base = rig.populated(2);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.FENCE_WAIT, false);
    GpuVm vm = gpu.newVm(rig.proc);
    GpuBo bo = new GpuBo(gpu, "bo0", base, 2 * PAGE);
    Mutex lock = rig.rt.newMutex("drv");
    MmuIntervalNotifier sub =
        rig.subscribe(vm, base, 2 * PAGE, lock, (s, r, seq) -> {}); // forgets to unbind
    rig.pin(bo);
    bo.bindInto(vm);
    rig.proc.munmap(base, 2 * PAGE);
    long oldPfn = bo.pfns()[0];
    assertThat(rig.machine.memory().state(oldPfn)).isNotEqualTo(FrameState.FREED); // pinned

    GpuJob job = GpuJob.builder("late").read(base, 1).build();
    gpu.submit(vm, job, List.of(bo)).waitSignaled();
    assertThat(job.readResult(0)).containsExactly(100); // the old pinned frame
    assertThat(rig.checker.violations(ViolationKind.STALE_USE)).isNotEmpty();
    assertThat(rig.checker.violations(ViolationKind.STALE_USE).get(0).deviceId())
        .isEqualTo("gpu0.vm0");
    bo.unbindFrom(vm);
    bo.releasePages();
    gpu.shutdown();
    sub.remove();
  }

  @Test
  void brokenCallback_migrateFreesAnUnpinnedBoundFrame_jobIsStaleUseAndUseAfterFree()
      throws ErrnoException {
    long base = rig.populated(1);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.SHADOW_PTE, false);
    GpuVm vm = gpu.newVm(rig.proc);
    Mutex lock = rig.rt.newMutex("drv");
    MmuIntervalNotifier sub = rig.subscribe(vm, base, PAGE, lock, (s, r, seq) -> {});
    long oldPfn = rig.proc.pte(base).pfn();
    vm.bind(base, oldPfn, true);
    assertThat(rig.proc.migrate(base, base + PAGE, "migrator")).isEqualTo(1);
    assertThat(rig.proc.pte(base).pfn()).isNotEqualTo(oldPfn);

    GpuJob job = GpuJob.builder("late").write(base, 9).build();
    gpu.submit(vm, job, List.of()).waitSignaled();
    assertThat(rig.checker.violations(ViolationKind.STALE_USE)).isNotEmpty();
    assertThat(rig.checker.violations(ViolationKind.USE_AFTER_FREE)).isNotEmpty();
    assertThat(rig.proc.load(base)).isEqualTo(100); // the write went to the stale frame
    gpu.shutdown();
    sub.remove();
  }

  @Test
  void brokenCallback_aJobHeldInFlightByAGate_writesTheOldPageAfterMunmap() throws ErrnoException {
    long base = rig.populated(1);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.FENCE_WAIT, false);
    GpuVm vm = gpu.newVm(rig.proc);
    GpuBo bo = new GpuBo(gpu, "bo0", base, PAGE);
    Mutex lock = rig.rt.newMutex("drv");
    MmuIntervalNotifier sub = rig.subscribe(vm, base, PAGE, lock, (s, r, seq) -> {});
    rig.pin(bo);
    bo.bindInto(vm);
    DmaFence gate = new DmaFence(rig.rt, "gate", 1);
    GpuJob job = GpuJob.builder("held").waitFor(gate).write(base + 8, 7).build();
    gpu.submit(vm, job, List.of(bo));
    rig.proc.munmap(base, PAGE); // the callback neither waits nor unbinds
    assertThat(job.fence().isSignaled()).isFalse();
    gate.signal();
    job.fence().waitSignaled();
    assertThat(job.error()).isNull();
    assertThat(rig.machine.memory().rawReadLong(bo.pfns()[0], 8)).isEqualTo(7); // stale GPU write
    assertThat(rig.checker.violations(ViolationKind.STALE_USE)).isNotEmpty();
    bo.unbindFrom(vm);
    bo.releasePages();
    gpu.shutdown();
    sub.remove();
  }

  @Test
  void callbackThatUnbindsAndFlushes_munmapThenJobFaults_clean() throws ErrnoException {
    long base = rig.populated(2);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.FENCE_WAIT, false);
    GpuVm vm = gpu.newVm(rig.proc);
    GpuBo bo = new GpuBo(gpu, "bo0", base, 2 * PAGE);
    Mutex lock = rig.rt.newMutex("drv");
    MmuIntervalNotifier sub =
        rig.subscribe(
            vm,
            base,
            2 * PAGE,
            lock,
            (s, r, seq) -> {
              lock.lock();
              try {
                s.setSeq(seq);
              } finally {
                lock.unlock();
              }
              bo.resv().waitIdle(); // fence-wait model: jobs that may use the pages are done
              bo.unbindFrom(vm);
            });
    rig.pin(bo);
    bo.bindInto(vm);
    GpuJob before = GpuJob.builder("before").write(base, 1).read(base + PAGE, 1).build();
    gpu.submit(vm, before, List.of(bo));
    rig.proc.munmap(base, 2 * PAGE);
    assertThat(before.fence().isSignaled()).isTrue(); // the callback waited for it
    assertThat(before.error()).isNull();
    assertThat(bo.placement()).isEqualTo(GpuBo.Placement.CPU);

    GpuJob after = GpuJob.builder("after").read(base, 1).build();
    gpu.submit(vm, after, List.of(bo)).waitSignaled();
    assertThat(after.error().errno()).isEqualTo(Errno.EFAULT);
    bo.releasePages();
    gpu.shutdown();
    sub.remove();
    vm.tearDown();
    rig.checker.assertClean();
  }

  // ---------------------------------------------------------------------------------------------
  // Replayable faults

  @Test
  void replayableFault_resolvedByHmmAndBind_jobCompletesWithTheRightData() throws ErrnoException {
    long base = rig.populated(2);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.SHADOW_PTE, true);
    GpuVm vm = gpu.newVm(rig.proc);
    Mutex lock = rig.rt.newMutex("svm");
    MmuIntervalNotifier sub =
        rig.subscribe(vm, base, 2 * PAGE, lock, GpuRig.unbindAndFlush(vm, lock));
    vm.faultQueue().startHandler(f -> rig.resolveByHmm(vm, sub, lock, f.va(), f.write()));

    GpuJob job = GpuJob.builder("svm").write(base + 8, 555).read(base + PAGE, 1).build();
    DmaFence fence = gpu.submit(vm, job, List.of());
    assertThat(fence.waitTimeout(WAIT)).isTrue();
    assertThat(job.error()).isNull();
    assertThat(job.readResult(1)).containsExactly(101);
    assertThat(rig.proc.load(base + 8)).isEqualTo(555);
    assertThat(vm.faultQueue().raisedCount()).isEqualTo(2);

    rig.proc.munmap(base, 2 * PAGE); // the callback zaps the GPU PTEs
    assertThat(vm.mmu().mappedPages()).isZero();
    gpu.shutdown();
    sub.remove();
    vm.tearDown();
    rig.checker.assertClean();
  }

  @Test
  void replayableFault_cancelled_failsTheJobsFence() throws ErrnoException {
    long base = rig.populated(1);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.SHADOW_PTE, true);
    GpuVm vm = gpu.newVm(rig.proc);
    vm.faultQueue()
        .startHandler(
            f -> {
              throw new ErrnoException(Errno.EFAULT, "no page for " + f);
            });
    GpuJob job = GpuJob.builder("svm").read(base, 1).build();
    assertThat(gpu.submit(vm, job, List.of()).waitTimeout(WAIT)).isTrue();
    assertThat(job.error().errno()).isEqualTo(Errno.EFAULT);
    assertThat(job.error().getMessage()).contains("cancelled");
    gpu.shutdown();
    assertThat(vm.faultQueue().isClosed()).isTrue();
    vm.tearDown();
    rig.checker.assertClean();
  }

  @Test
  void shutdownNow_cancelsAJobBlockedOnAnUnresolvedFault() throws ErrnoException {
    long base = rig.populated(1);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.SHADOW_PTE, true);
    GpuVm vm = gpu.newVm(rig.proc);
    GpuJob job = GpuJob.builder("svm").read(base, 1).build();
    gpu.submit(vm, job, List.of());
    assertThat(vm.faultQueue().take()).isNotNull(); // raised, nobody resolves it
    gpu.shutdownNow();
    assertThat(job.fence().isSignaled()).isTrue();
    assertThat(job.error().errno()).isEqualTo(Errno.EFAULT);
    vm.tearDown();
    rig.checker.assertClean();
  }

  @Test
  void jobsAndBosAreCheckedForMisuse() throws ErrnoException {
    long base = rig.populated(1);
    SimGpu gpu = new SimGpu(rig.machine, "gpu0", CoherencyModel.FENCE_WAIT, false);
    SimGpu other = new SimGpu(rig.machine, "gpu1", CoherencyModel.FENCE_WAIT, false);
    GpuVm vm = gpu.newVm(rig.proc);
    assertThat(gpu.newVm(rig.proc).deviceId()).isEqualTo("gpu0.vm1");
    assertThat(gpu.vms()).hasSize(2);
    GpuJob job = GpuJob.builder("j").read(base, 1).build();
    assertThatThrownBy(() -> other.submit(vm, job, List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    gpu.submit(vm, job, List.of());
    assertThatThrownBy(() -> gpu.submit(vm, job, List.of()))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> GpuJob.builder("empty").build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new GpuBo(gpu, "odd", base + 8, PAGE))
        .isInstanceOf(IllegalArgumentException.class);
    GpuBo bo = new GpuBo(gpu, "bo", base, PAGE);
    assertThatThrownBy(() -> bo.bindInto(vm)).isInstanceOf(IllegalStateException.class);
    rig.pin(bo);
    assertThatThrownBy(() -> rig.pin(bo)).isInstanceOf(IllegalStateException.class);
    long pfn = bo.pfns()[0];
    assertThat(rig.machine.memory().pincount(pfn))
        .isEqualTo(1); // the refused second pin took nothing
    bo.releasePages();
    gpu.shutdown();
    other.shutdown();
    job.fence().waitSignaled();
    rig.checker.assertClean();
  }
}
