package io.mmulab.driver.vhost;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.OomReaper;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.testkit.OomReapProbe;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The OOM reaper against a vhost process. LEGACY answers {@code -EAGAIN} to every non-blockable
 * range, even one no ring touches, so the reaper gives up on every VMA. CONSOLIDATED is only called
 * for ranges that overlap a ring, and refuses only when it cannot take {@code mmu_lock} or the
 * worker is inside the map: an idle device is reaped at once, and a busy one keeps only the VMA of
 * its rings.
 */
class VhostNonBlockableTest {
  private static final long PAGE = AddressSpace.PAGE_SIZE;

  @Test
  void legacy_refusesEveryRange_reaperGivesUpOnEveryVma() throws Exception {
    assertThat(OomReapProbe.run(new VhostFactory(), DriverVariant.LEGACY))
        .isEqualTo(OomReapProbe.Result.gaveUpOnEveryVma());
  }

  @Test
  void consolidated_idle_reapedAtOnce() throws Exception {
    assertThat(OomReapProbe.run(new VhostFactory(), DriverVariant.CONSOLIDATED))
        .isEqualTo(OomReapProbe.Result.reapedAtOnce());
  }

  /**
   * With {@code mmu_lock} busy (a prefetch publishing, a worker counting itself in), the callback
   * of the ring's VMA cannot try-lock it and refuses; the unrelated VMA reaches no callback and is
   * reaped. LEGACY under the same conditions keeps both.
   */
  @Test
  @Timeout(60)
  void mmuLockBusy_consolidatedRefusesOnlyTheRingsVma_legacyBoth() throws Exception {
    assertThat(reapWithMmuLockHeld(DriverVariant.CONSOLIDATED)).containsExactly(true, false);
    assertThat(reapWithMmuLockHeld(DriverVariant.LEGACY)).containsExactly(true, true);
  }

  /** Returns whether the rings' VMA and the other VMA kept their pages. */
  private static boolean[] reapWithMmuLockHeld(DriverVariant variant) throws Exception {
    RealSyncRuntime rt = RealSyncRuntime.get();
    CoherencyChecker checker = new CoherencyChecker();
    SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, 64, checker));
    SimProcess proc = machine.spawnProcess("vmm");
    long rings = filled(proc);
    long other = filled(proc);
    VhostAdapter dev = (VhostAdapter) new VhostFactory().create(variant, proc, machine);
    try {
      dev.read(rings, 1); // places the rings over the first VMA and maps the descriptor table
      dev.virtqueue().mmuLock.lock();
      int attempts;
      try {
        attempts = CompletableFuture.supplyAsync(() -> new OomReaper(1, 0).reap(proc)).get();
      } finally {
        dev.virtqueue().mmuLock.unlock();
      }
      assertThat(attempts).as("the reaper gave up").isZero();
      checker.assertClean();
      return new boolean[] {present(proc, rings), present(proc, other)};
    } finally {
      dev.teardown();
      proc.exit();
    }
  }

  private static long filled(SimProcess proc) throws Exception {
    long va =
        proc.mmap(
            0, 2 * PAGE, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    proc.store(va, 1);
    proc.store(va + PAGE, 2);
    return va;
  }

  private static boolean present(SimProcess proc, long va) {
    return proc.pte(va).type() == PteView.Type.PRESENT
        && proc.pte(va + PAGE).type() == PteView.Type.PRESENT;
  }
}
