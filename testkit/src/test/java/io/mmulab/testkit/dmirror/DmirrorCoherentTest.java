package io.mmulab.testkit.dmirror;

import static io.mmulab.testkit.dmirror.DmirrorFixture.PAGE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.WORDS;
import static io.mmulab.testkit.dmirror.DmirrorFixture.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Gup;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimProcess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Devices 2 and 3: device-coherent memory, which the CPU reaches directly; only MIGRATE_TO_SYS,
 * eviction or a long-term pin moves it back to system memory.
 */
class DmirrorCoherentTest {
  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void cpuAccess_toCoherentPage_isDirect(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open(f.proc, 2);
      long a = f.filled(2);
      DmirrorCmd c = run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2);
      assertThat(c.cpages()).isEqualTo(2);
      PteView pte = f.proc.pte(a);
      assertThat(pte.type()).isEqualTo(PteView.Type.PRESENT);
      assertThat(m.device().owns(pte.pfn())).isTrue();
      assertThat(f.proc.load(a + 8 * 3)).isEqualTo(3);
      f.proc.store(a + PAGE, 77);
      assertThat(m.device().owns(f.proc.pte(a + PAGE).pfn())).isTrue(); // written in place
      assertThat(m.device().pagesInUse()).isEqualTo(2); // no fault moved anything back
      assertThat(run(m, DmirrorCommand.READ, a, 2).word(WORDS)).isEqualTo(77);
      f.proc.munmap(a, 2 * PAGE);
      assertThat(m.device().pagesInUse()).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void migrateToSys_movesOnlyThisDevicesCoherentPages(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m2 = f.open(f.proc, 2);
      DmirrorMirror m3 = f.open(f.proc, 3);
      long a = f.filled(4);
      run(m2, DmirrorCommand.MIGRATE_TO_DEV, a, 2);
      run(m3, DmirrorCommand.MIGRATE_TO_DEV, a + 2 * PAGE, 2);
      DmirrorCmd back = run(m2, DmirrorCommand.MIGRATE_TO_SYS, a, 4);
      assertThat(back.cpages()).isEqualTo(2);
      assertThat(m2.device().pagesInUse()).isZero();
      assertThat(m3.device().pagesInUse()).isEqualTo(2);
      assertThat(f.proc.load(a + 3 * PAGE)).isEqualTo(3L * WORDS);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void longTermPin_migratesACoherentPageOut_butAPlainReferenceDoesNot(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open(f.proc, 2);
      long a = f.filled(2);
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2);
      long got = gup(f.proc, a, Gup.FOLL_WRITE);
      assertThat(m.device().owns(got)).isTrue();
      f.memory.put(got);
      long pinned = gup(f.proc, a + PAGE, Gup.FOLL_WRITE | Gup.FOLL_PIN | Gup.FOLL_LONGTERM);
      assertThat(m.device().owns(pinned)).isFalse();
      assertThat(f.proc.pte(a + PAGE).pfn()).isEqualTo(pinned);
      assertThat(f.memory.readLong(pinned, 8)).isEqualTo(WORDS + 1);
      f.memory.unpin(pinned);
      assertThat(m.device().pagesInUse()).isEqualTo(1);
    }
  }

  private static long gup(SimProcess p, long va, int flags) throws Exception {
    long[] pfns = new long[1];
    RwSemaphore lock = p.mm().mmapLock();
    lock.downRead();
    try {
      p.mm().getUserPages(va, 1, flags, pfns);
    } finally {
      lock.upRead();
    }
    return pfns[0];
  }
}
