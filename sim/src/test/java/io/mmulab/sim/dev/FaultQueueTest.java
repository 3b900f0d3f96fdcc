package io.mmulab.sim.dev;

import static io.mmulab.sim.dev.Rig.VA;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class FaultQueueTest {

  @Test
  void unmappedPage_faultIsHandledAndReplayed_dmaCompletesWithTheData() {
    for (long seed = 0; seed < 20; seed++) {
      List<String> faults = new CopyOnWriteArrayList<>();
      AtomicReference<CoherencyChecker> checker = new AtomicReference<>();
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                Rig rig = new Rig(rt);
                checker.set(rig.checker);
                FaultQueue q = new FaultQueue(rt, "gpu0.faults");
                DeviceMmu mmu = rig.device("gpu0").faultQueue(q).build();
                long pfn = rig.cpuPage(VA, 77);
                q.startHandler(
                    f -> {
                      faults.add(f.deviceId() + " " + f.pageAddress() + " " + f.write());
                      mmu.map(f.pageAddress(), pfn, f.write());
                    });
                DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 4, 1).start();
                DmaJob job = DmaJob.builder("j").read(mmu, VA, 1).write(mmu, VA + 8, 5).build();

                engine.submit(job).waitSignaled();
                engine.shutdown();
                q.close();

                assertThat(job.error()).isNull();
                assertThat(job.readResult(0)).containsExactly(77);
                assertThat(rig.memory.rawReadLong(pfn, 8)).isEqualTo(5);
                assertThat(q.raisedCount()).isEqualTo(2);
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
      assertThat(faults)
          .as("seed %d: a read fault, then a write fault on the read-only entry", seed)
          .containsExactly("gpu0 " + VA + " false", "gpu0 " + VA + " true");
      assertThat(checker.get().violations()).as("seed %d", seed).isEmpty();
    }
  }

  @Test
  void handlerFailure_cancelsTheFault_dmaFailsWithEfault() {
    for (long seed = 0; seed < 10; seed++) {
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                Rig rig = new Rig(rt);
                FaultQueue q = new FaultQueue(rt, "gpu0.faults");
                DeviceMmu mmu = rig.device("gpu0").faultQueue(q).build();
                q.startHandler(
                    f -> {
                      throw new ErrnoException(Errno.EFAULT, "no VMA at " + f.va());
                    });
                DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 4, 1).start();
                DmaJob job = DmaJob.builder("j").read(mmu, VA, 1).build();

                engine.submit(job).waitSignaled();
                engine.shutdown();
                q.close();

                assertThat(job.error().errno()).isEqualTo(Errno.EFAULT);
                assertThat(job.error()).hasMessageContaining("cancelled");
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
    }
  }

  @Test
  void close_cancelsUnresolvedFaults_andLaterFaultsFailAtOnce() {
    for (long seed = 0; seed < 10; seed++) {
      RunResult r =
          Simulation.run(
              SchedulerConfig.ofSeed(seed),
              rt -> {
                Rig rig = new Rig(rt);
                FaultQueue q = new FaultQueue(rt, "gpu0.faults");
                DeviceMmu mmu = rig.device("gpu0").faultQueue(q).build();
                DmaEngine engine = new DmaEngine(rt, "gpu0.ring", 4, 1).start();
                DmaJob job = DmaJob.builder("j").write(mmu, VA, 1).build();
                DmaFence fence = engine.submit(job);

                DeviceFault f = q.take();
                assertThat(f.va()).isEqualTo(VA);
                assertThat(f.write()).isTrue();
                q.close();
                fence.waitSignaled();

                assertThat(f.state()).isEqualTo(DeviceFault.State.CANCELLED);
                assertThat(f.replay()).as("already resolved").isFalse();
                assertThat(job.error().errno()).isEqualTo(Errno.EFAULT);
                assertThat(q.take()).as("closed").isNull();
                DmaJob late = DmaJob.builder("late").read(mmu, VA, 1).build();
                engine.submit(late).waitSignaled();
                assertThat(late.error()).isNotNull();
                engine.shutdown();
              });
      assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
    }
  }

  @Test
  void realRuntime_driverPollsAndReplays() throws ErrnoException {
    SyncRuntime rt = RealSyncRuntime.get();
    Rig rig = new Rig(rt);
    FaultQueue q = new FaultQueue(rt, "nic0.faults");
    DeviceMmu mmu = rig.device("nic0").faultQueue(q).build();
    long pfn = rig.cpuPage(VA, 31);
    assertThat(q.poll()).isNull();
    DmaEngine engine = new DmaEngine(rt, "nic0.ring", 4, 1).start();
    DmaJob job = DmaJob.builder("j").read(mmu, VA + 16, 1).build();
    DmaFence fence = engine.submit(job);

    DeviceFault f = q.take();
    assertThat(f.deviceId()).isEqualTo("nic0");
    assertThat(f.mmu()).isSameAs(mmu);
    assertThat(f.va()).isEqualTo(VA + 16);
    assertThat(fence.isSignaled()).as("the DMA waits for the driver").isFalse();
    rig.memory.writeLong(pfn, 16, 32);
    mmu.map(f.va(), pfn, false);
    assertThat(f.replay()).isTrue();

    assertThat(fence.waitTimeout(30_000_000_000L)).isTrue();
    engine.shutdown();
    q.close();
    assertThat(job.readResult(0)).containsExactly(32);
    assertThat(mmu.readLong(VA)).isEqualTo(31);
    rig.checker.assertClean();
  }
}
