package io.mmulab.sim.dev;

import static io.mmulab.sim.dev.Rig.PAGE;
import static io.mmulab.sim.dev.Rig.VA;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.core.sync.RealSyncRuntime;
import org.junit.jupiter.api.Test;

class IommuDomainTest {
  private final Rig rig = new Rig(RealSyncRuntime.get());
  private final IommuDomain domain = new IommuDomain(rig.rt, rig.checker, "dom0");

  @Test
  void dmaToMappedFrame_goesThrough() throws ErrnoException {
    DeviceMmu mmu = rig.device("nic0").iommu(domain).build();
    long pfn = rig.cpuPage(VA, 8);
    domain.map(pfn);
    mmu.map(VA, pfn, true);

    mmu.writeLong(VA + 8, 9);

    assertThat(mmu.readLong(VA)).isEqualTo(8);
    assertThat(rig.memory.rawReadLong(pfn, 8)).isEqualTo(9);
    assertThat(domain.devices()).containsExactly("nic0");
    rig.checker.assertClean();
  }

  @Test
  void dmaOutsideDomain_isBlockedAndReportedAsIsolation() {
    DeviceMmu mmu = rig.device("nic0").iommu(domain).build();
    long pfn = rig.cpuPage(VA, 8);
    mmu.map(VA, pfn, true);

    assertThatThrownBy(() -> mmu.writeLong(VA, 666))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT))
        .hasMessageContaining("IOMMU fault")
        .hasMessageContaining("blocked");

    assertThat(rig.memory.rawReadLong(pfn, 0)).as("the frame is untouched").isEqualTo(8);
    assertThat(rig.checker.violations(ViolationKind.ISOLATION)).hasSize(1);
    assertThat(rig.checker.violations(ViolationKind.ISOLATION).get(0).pfn()).isEqualTo(pfn);
  }

  @Test
  void mappingsAreCounted_unmapTwiceToBlock() throws ErrnoException {
    DeviceMmu mmu = rig.device("nic0").iommu(domain).build();
    long pfn = rig.cpuPage(VA, 1);
    mmu.map(VA, pfn, false);
    domain.map(pfn);
    domain.map(pfn);

    domain.unmap(pfn);
    assertThat(mmu.readLong(VA)).isEqualTo(1);
    domain.unmap(pfn);

    assertThat(domain.isMapped(pfn)).isFalse();
    assertThatThrownBy(() -> mmu.readLong(VA)).isInstanceOf(ErrnoException.class);
    assertThatThrownBy(() -> domain.unmap(pfn)).isInstanceOf(IllegalStateException.class);
    assertThat(rig.checker.violations(ViolationKind.ISOLATION)).hasSize(1);
  }

  @Test
  void deviceAttachedLater_seesExistingMappings() throws ErrnoException {
    long a = rig.cpuPage(VA, 4);
    long b = rig.cpuPage(VA + PAGE, 5);
    domain.map(a);
    DeviceMmu mmu = rig.device("nic0").iommu(domain).build();
    mmu.map(VA, a, false);
    mmu.map(VA + PAGE, b, false);

    assertThat(mmu.readLong(VA)).isEqualTo(4);
    assertThatThrownBy(() -> mmu.readLong(VA + PAGE)).isInstanceOf(ErrnoException.class);

    assertThat(domain.mappedFrames()).isEqualTo(1);
    assertThat(rig.checker.violations())
        .singleElement()
        .satisfies(v -> assertThat(v.kind()).isEqualTo(ViolationKind.ISOLATION));
  }
}
