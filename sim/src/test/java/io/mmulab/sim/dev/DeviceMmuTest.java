package io.mmulab.sim.dev;

import static io.mmulab.sim.dev.Rig.PAGE;
import static io.mmulab.sim.dev.Rig.VA;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class DeviceMmuTest {
  private final Rig rig = new Rig(RealSyncRuntime.get());

  @Test
  void mapTranslateUnmap_followThePageTable() throws ErrnoException {
    DeviceMmu mmu = rig.device("gpu0", CoherencyModel.SHADOW_PTE);
    long pfn = rig.cpuPage(VA, 11, 22);

    mmu.map(VA + 0x123, pfn, true);

    assertThat(mmu.lookup(VA))
        .isEqualTo(new DeviceMmu.Translation(VA, pfn, true, rig.memory.generation(pfn)));
    assertThat(mmu.tlbEntry(VA)).as("TLB filled only by translation").isNull();
    assertThat(mmu.translate(VA + 8, true).pfn()).isEqualTo(pfn);
    assertThat(mmu.tlbEntry(VA)).isEqualTo(mmu.lookup(VA));
    assertThat(mmu.readLong(VA + 8)).isEqualTo(22);
    mmu.writeLong(VA + 16, 33);
    assertThat(rig.memory.rawReadLong(pfn, 16)).isEqualTo(33);

    assertThat(mmu.unmap(VA)).isTrue();
    assertThat(mmu.unmap(VA)).isFalse();
    assertThat(mmu.lookup(VA)).isNull();
    assertThat(mmu.mappedPages()).isZero();
    rig.checker.assertClean();
  }

  @Test
  void unmapWithoutFlush_tlbKeepsTranslationUntilFlushed() throws ErrnoException {
    DeviceMmu mmu = rig.device("gpu0", CoherencyModel.SHADOW_PTE);
    long pfn = rig.cpuPage(VA, 7);
    mmu.map(VA, pfn, true);
    assertThat(mmu.readLong(VA)).isEqualTo(7);

    mmu.unmapRange(VA, VA + PAGE);
    assertThat(mmu.translate(VA, false).pfn()).as("stale TLB entry").isEqualTo(pfn);

    mmu.flushTlb(VA, VA + PAGE);
    assertThat(mmu.tlbEntries()).isZero();
    assertThatThrownBy(() -> mmu.translate(VA, false))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT))
        .hasMessageContaining("cannot replay");
  }

  @Test
  void writeThroughReadOnlyEntry_isAPageFault() throws ErrnoException {
    DeviceMmu mmu = rig.device("gpu0", CoherencyModel.SHADOW_PTE);
    long pfn = rig.cpuPage(VA, 5);
    mmu.map(VA, pfn, false);
    assertThat(mmu.readLong(VA)).isEqualTo(5);

    assertThatThrownBy(() -> mmu.writeLong(VA, 6))
        .isInstanceOf(ErrnoException.class)
        .hasMessageContaining("write fault");
    assertThat(rig.memory.rawReadLong(pfn, 0)).isEqualTo(5);

    mmu.map(VA, pfn, true); // upgrade: the read-only TLB entry is refilled from the page table
    mmu.writeLong(VA, 6);
    assertThat(rig.memory.rawReadLong(pfn, 0)).isEqualTo(6);
    rig.checker.assertClean();
  }

  @Test
  void burstAcrossPages_translatesEachPage() throws ErrnoException {
    DeviceMmu mmu = rig.device("gpu0", CoherencyModel.SHADOW_PTE);
    long a = rig.cpuPage(VA);
    long b = rig.cpuPage(VA + PAGE);
    mmu.map(VA, a, true);
    mmu.map(VA + PAGE, b, true);

    mmu.writeLongs(CoherencyChecker.NO_OP, VA + PAGE - 8, new long[] {1, 2, 3});
    long[] back = new long[3];
    mmu.readLongs(CoherencyChecker.NO_OP, VA + PAGE - 8, back);

    assertThat(back).containsExactly(1, 2, 3);
    assertThat(rig.memory.rawReadLong(a, (int) PAGE - 8)).isEqualTo(1);
    assertThat(rig.memory.rawReadLong(b, 8)).isEqualTo(3);
    assertThat(mmu.tlbEntries()).isEqualTo(2);
    rig.checker.assertClean();
  }

  @Test
  void missingFlush_dmaAfterCallbackReturned_isStaleUse() throws ErrnoException {
    DeviceMmu mmu = rig.device("gpu0", CoherencyModel.SHADOW_PTE);
    long pfn = rig.cpuPage(VA, 99);
    mmu.map(VA, pfn, true);
    assertThat(mmu.readLong(VA)).isEqualTo(99);

    rig.munmap("gpu0", VA, pfn, () -> mmu.unmap(VA)); // zaps but forgets the TLB flush
    mmu.readLong(VA); // the TLB still translates VA to the freed frame

    assertThat(rig.checker.violations(ViolationKind.STALE_USE)).hasSize(1);
    assertThat(rig.checker.violations(ViolationKind.STALE_USE).get(0).message())
        .contains("invalidated by a callback");
  }

  @Test
  void zapAndFlushInCallback_isClean() throws ErrnoException {
    DeviceMmu mmu = rig.device("gpu0", CoherencyModel.SHADOW_PTE);
    long pfn = rig.cpuPage(VA, 99);
    mmu.map(VA, pfn, true);
    assertThat(mmu.readLong(VA)).isEqualTo(99);

    rig.munmap(
        "gpu0",
        VA,
        pfn,
        () -> {
          mmu.unmap(VA);
          mmu.flushTlb(VA, VA + PAGE);
        });

    assertThatThrownBy(() -> mmu.readLong(VA)).isInstanceOf(ErrnoException.class);
    rig.checker.assertClean();
  }

  @Test
  void tearDown_laterAccessIsLifetimeViolation() throws ErrnoException {
    DeviceMmu mmu = rig.device("gpu0", CoherencyModel.SHADOW_PTE);
    long pfn = rig.cpuPage(VA, 1);
    mmu.map(VA, pfn, true);

    mmu.tearDown();
    mmu.readLong(VA);

    assertThat(mmu.isTornDown()).isTrue();
    assertThat(rig.checker.violations(ViolationKind.LIFETIME)).isNotEmpty();
  }

  @Test
  void registrationCache_operationBegunBeforeInvalidation_mayFinish() throws ErrnoException {
    DeviceMmu mmu = rig.device("hfi0", CoherencyModel.REGISTRATION_CACHE);
    long pfn = rig.cpuPage(VA, 3);
    rig.memory.pin(pfn);
    mmu.map(VA, pfn, false);
    long inFlight = mmu.beginOperation();
    assertThat(inFlight).isPositive();

    rig.munmap("hfi0", VA, pfn, () -> {}); // a registration cache keeps its entry
    assertThat(mmu.readLong(inFlight, VA)).isEqualTo(3);
    rig.checker.assertClean();

    long late = mmu.beginOperation();
    mmu.readLong(late, VA);
    assertThat(rig.checker.violations(ViolationKind.STALE_USE)).hasSize(1);
  }

  /** DMA racing with munmap under the deterministic scheduler, with or without the TLB flush. */
  private static RunResult race(long seed, boolean flush, AtomicReference<CoherencyChecker> out) {
    return Simulation.run(
        SchedulerConfig.ofSeed(seed),
        rt -> {
          Rig r = new Rig(rt);
          out.set(r.checker);
          DeviceMmu mmu = r.device("gpu0", CoherencyModel.SHADOW_PTE);
          long pfn = r.cpuPage(VA, 42);
          mmu.map(VA, pfn, true);
          ThreadHandle dma =
              rt.spawn(
                  "dma",
                  () -> {
                    for (int i = 0; i < 3; i++) {
                      try {
                        long v = mmu.readLong(VA);
                        assertThat(v).isIn(42L, 0x6b6b6b6b6b6b6b6bL);
                      } catch (ErrnoException e) {
                        assertThat(e.errno()).isEqualTo(Errno.EFAULT); // after the zap
                      }
                    }
                  });
          r.munmap(
              "gpu0",
              VA,
              pfn,
              () -> {
                mmu.unmap(VA);
                if (flush) {
                  mmu.flushTlb(VA, VA + PAGE);
                }
              });
          dma.join();
        });
  }

  @Test
  void racingDma_withFlush_isCleanForEverySeed() {
    for (long seed = 0; seed < 40; seed++) {
      AtomicReference<CoherencyChecker> checker = new AtomicReference<>();
      RunResult r = race(seed, true, checker);
      assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
      assertThat(checker.get().violations()).as("seed %d: %s", seed, r.trace()).isEmpty();
    }
  }

  @Test
  void racingDma_withoutFlush_staleUseFoundBySomeSeed() {
    long found = -1;
    for (long seed = 0; seed < 40 && found < 0; seed++) {
      AtomicReference<CoherencyChecker> checker = new AtomicReference<>();
      RunResult r = race(seed, false, checker);
      assertThat(r.outcome()).as("seed %d: %s", seed, r).isEqualTo(Outcome.OK);
      if (!checker.get().violations(ViolationKind.STALE_USE).isEmpty()) {
        found = seed;
      }
    }
    assertThat(found).as("a seed in 0..39 exposing the missing flush").isNotNegative();
  }
}
