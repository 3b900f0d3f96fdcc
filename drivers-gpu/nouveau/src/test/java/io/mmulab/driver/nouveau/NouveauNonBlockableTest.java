package io.mmulab.driver.nouveau;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.OomReaper;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.testkit.OomReapProbe;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The OOM reaper against an idle device. Both variants answer {@code -EAGAIN} to every
 * non-blockable range — the mirror's sync callback in v5.4, the whole-mm classic notifier after the
 * series — so the reaper gives up on every VMA of a process with an SVM client, even one the GPU
 * never touched, and the GPU PTEs stay. The refusals leave everything consistent: a later munmap
 * still clears them.
 */
class NouveauNonBlockableTest {
  @ParameterizedTest
  @EnumSource(names = {"LEGACY", "CONSOLIDATED"})
  void oomReap_refusesEveryRange(DriverVariant variant) throws Exception {
    assertThat(OomReapProbe.run(new NouveauFactory(), variant))
        .isEqualTo(OomReapProbe.Result.gaveUpOnEveryVma());
  }

  /**
   * The core's edge (docs/notifier.md, "The classic notifier"): a reap during a consolidated fault
   * calls the temporary interval notifier, which succeeds and bumps its sequence, and then the
   * classic notifier, which refuses. The core must close the interval window it opened: the fault
   * retries once and maps the page, and later faults and invalidations do not wait on a window
   * nobody will end.
   */
  @Test
  @Timeout(60) // a window left open would make the retry's readBegin sleep forever
  void consolidated_reapDuringAFault_intervalSucceedsClassicRefuses_faultRetriesOnce()
      throws Exception {
    RealSyncRuntime rt = RealSyncRuntime.get();
    CoherencyChecker checker = new CoherencyChecker();
    SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, 64, checker));
    SimProcess proc = machine.spawnProcess("app");
    long page = PhysicalMemory.PAGE_SIZE;
    long base =
        proc.mmap(
            0, 2 * page, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    proc.store(base, 100);
    proc.store(base + page, 101);
    NouveauAdapter a =
        (NouveauAdapter) new NouveauFactory().create(DriverVariant.CONSOLIDATED, proc, machine);
    try {
      AtomicInteger reaps = new AtomicInteger(-1);
      AtomicInteger lookups = new AtomicInteger();
      a.svmm()
          .core()
          .setAfterLookupHook(
              () -> {
                if (lookups.getAndIncrement() == 0) {
                  reaps.set(new OomReaper(1, 0).reap(proc));
                }
              });

      a.prefetch(base, page, false);

      assertThat(reaps.get()).as("the reaper gave up").isZero();
      assertThat(a.svmm().callbackLog()).containsExactly("interval", "classic");
      assertThat(lookups.get()).as("lookups: the first collided with the reap").isEqualTo(2);
      assertThat(a.read(base, 1)).containsExactly(100L);
      a.prefetch(base + page, page, false); // a new fault window: readBegin does not sleep
      proc.munmap(base, 2 * page);
      assertThat(a.svmm().vm().mmu().mappedPages()).isZero();
      checker.assertClean();
    } finally {
      a.teardown();
      proc.exit();
    }
  }
}
