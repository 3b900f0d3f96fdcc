package io.mmulab.driver.gntdev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The mmap path and a VMA split, outside any scenario: which address spaces a file may map grants
 * in, and that an invalidation of part of a grant map takes exactly the grants of that part.
 */
class GntdevMmapTest {
  private static final long PAGE = AddressSpace.PAGE_SIZE;

  private final SimMachine machine = new SimMachine(RealSyncRuntime.get(), 256);
  private final SimProcess opener = machine.spawnProcess("opener");

  private static long buffer(SimProcess p, int pages) throws ErrnoException {
    long va =
        p.mmap(
            0,
            pages * PAGE,
            Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    for (int i = 0; i < pages; i++) {
      p.store(va + i * PAGE, i + 1);
    }
    return va;
  }

  private GntdevAdapter open(DriverVariant v) throws ErrnoException {
    return (GntdevAdapter) new GntdevFactory().create(v, opener, machine);
  }

  @Test
  void legacy_refusesMmapFromAnotherAddressSpace() throws ErrnoException {
    SimProcess other = machine.spawnProcess("other"); // got the file over a socket
    long va = buffer(other, 1);
    GntdevAdapter dev = open(DriverVariant.LEGACY);

    assertThatThrownBy(() -> dev.mmap(other, va, false))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL))
        .hasMessageContaining("opened by");
    assertThat(machine.xen().mappedInto(other)).isZero();
    dev.teardown();
    assertThat(machine.checker().violations()).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(
      value = DriverVariant.class,
      names = {"AS_MERGED", "CONSOLIDATED"})
  void perMapNotifiers_mapInAnyAddressSpace_andTeardownUnmapsThere(DriverVariant v)
      throws ErrnoException {
    SimProcess other = machine.spawnProcess("other");
    long va = buffer(other, 2);
    GntdevAdapter dev = open(v);

    dev.mmap(other, va, false);
    dev.mmap(other, va + PAGE, false);
    assertThat(machine.xen().mappedInto(other)).isEqualTo(2);
    other.munmap(va + PAGE, PAGE); // its notifier is in the other address space
    assertThat(machine.xen().mappedInto(other)).isEqualTo(1);

    dev.teardown();
    assertThat(machine.xen().mappedInto(other)).isZero();
    assertThat(machine.checker().violations()).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(DriverVariant.class)
  void vmaSplit_takesOnlyTheOverlappingGrants_theOthersStayMappedAndUsable(DriverVariant v)
      throws ErrnoException {
    long va = buffer(opener, 4);
    GntdevAdapter dev = open(v);
    dev.prefetch(va, 4 * PAGE, true);
    GntdevFile file = dev.file();
    GntdevGrantMap map = file.findMap(opener.addressSpace(), va);
    long[] before = new long[4];
    for (int i = 0; i < 4; i++) {
      before[i] = map.handles.get(i);
    }

    opener.munmap(va + 2 * PAGE, PAGE); // the VMA splits; the map's notifier range does not
    opener.mprotect(va + 3 * PAGE, PAGE, Mman.PROT_READ);

    assertThat(map.handles.get(0)).isEqualTo(before[0]);
    assertThat(map.handles.get(1)).isEqualTo(before[1]);
    assertThat(map.handles.get(2)).isEqualTo(GntdevGrantMap.INVALID_HANDLE);
    assertThat(map.handles.get(3)).isEqualTo(GntdevGrantMap.INVALID_HANDLE);
    assertThat(dev.read(va + PAGE, 1)[0]).isEqualTo(2);
    assertThat(map.handles.get(1)).as("used through the same grant").isEqualTo(before[1]);
    assertThat(dev.read(va + 3 * PAGE, 1)[0]).isEqualTo(4);
    assertThatThrownBy(() -> dev.write(va + 3 * PAGE, new long[] {9}))
        .isInstanceOf(ErrnoException.class);
    assertThatThrownBy(() -> dev.read(va + 2 * PAGE, 1)).isInstanceOf(ErrnoException.class);
    assertThat(file.stats.snapshot().invalidations()).isEqualTo(2);

    dev.teardown();
    assertThat(machine.xen().mappedInto(opener)).isZero();
    assertThat(machine.checker().violations()).isEmpty();
  }
}
