package io.mmulab.driver.vhost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The device on real threads with nothing racing it: where the rings go, which path each access
 * takes, the used ring's pages dirtied when an invalidation takes its map, bad input refused.
 */
class VhostAdapterTest {
  private static final long PAGE = AddressSpace.PAGE_SIZE;

  @ParameterizedTest
  @EnumSource(names = {"LEGACY", "CONSOLIDATED"})
  void ringsOverTheFirstMapping_fastPathUntilMunmap_usedPagesDirtied(DriverVariant variant)
      throws Exception {
    CoherencyChecker checker = new CoherencyChecker();
    RealSyncRuntime rt = RealSyncRuntime.get();
    SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, 64, checker));
    SimProcess proc = machine.spawnProcess("vmm");
    long base =
        proc.mmap(
            0, 4 * PAGE, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    for (int p = 0; p < 4; p++) {
      proc.store(base + p * PAGE, 100 + p);
    }
    VhostAdapter dev = (VhostAdapter) new VhostFactory().create(variant, proc, machine);
    try {
      dev.write(base + 8, new long[] {7}); // the used ring: pages 0-1
      assertThat(dev.ringAddress(VhostRing.USED)).isEqualTo(new VhostUaddr(base, base + 2 * PAGE));
      assertThat(dev.ringAddress(VhostRing.DESC).start()).isEqualTo(base + 2 * PAGE);
      assertThat(dev.ringAddress(VhostRing.AVAIL).end()).isEqualTo(base + 4 * PAGE);
      assertThat(dev.read(base + 3 * PAGE, 1)).containsExactly(103L);
      assertThat(proc.load(base + 8)).as("the fast-path write reached the page").isEqualTo(7);
      assertThat(dev.fastPathAccesses()).isEqualTo(2);
      assertThat(dev.slowPathAccesses()).isZero();

      proc.munmap(base, 2 * PAGE);
      assertThat(dev.dirtiedPages()).as("the used ring's two pages").isEqualTo(2);
      assertThatThrownBy(() -> dev.write(base, new long[] {1}))
          .isInstanceOfSatisfying(
              ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT));
      assertThat(dev.slowPathAccesses()).isEqualTo(1);
      checker.assertClean();
    } finally {
      dev.teardown();
      dev.teardown(); // idempotent
      proc.exit();
    }
    assertThatThrownBy(() -> dev.read(base, 1))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
  }

  @ParameterizedTest
  @EnumSource(names = {"LEGACY", "CONSOLIDATED"})
  void setVringAddr_badRings_refused(DriverVariant variant) throws Exception {
    RealSyncRuntime rt = RealSyncRuntime.get();
    SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, 16, new CoherencyChecker()));
    SimProcess proc = machine.spawnProcess("vmm");
    VhostAdapter dev = (VhostAdapter) new VhostFactory().create(variant, proc, machine);
    try {
      VhostUaddr ring = new VhostUaddr(0x10000, 0x10400);
      assertThatThrownBy(() -> dev.setVringAddr(ring, new VhostUaddr(0x10200, 0x10600), ring))
          .isInstanceOfSatisfying(
              ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL))
          .hasMessageContaining("0x10200");
      assertThatThrownBy(() -> new VhostUaddr(0x10004, 0x10000))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("0x10004");
      assertThat(dev.ringAddress(VhostRing.USED)).as("nothing changed").isNull();
    } finally {
      dev.teardown();
      proc.exit();
    }
  }
}
