package io.mmulab.testkit.dmirror;

import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static io.mmulab.testkit.dmirror.DmirrorFixture.ANON_SHARED;
import static io.mmulab.testkit.dmirror.DmirrorFixture.PAGE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.RW;
import static io.mmulab.testkit.dmirror.DmirrorFixture.WORDS;
import static io.mmulab.testkit.dmirror.DmirrorFixture.run;
import static io.mmulab.testkit.dmirror.DmirrorReadWriteTest.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimFile;
import io.mmulab.sim.mm.SimProcess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** EXCLUSIVE and CHECK_EXCLUSIVE (docs/dmirror.md). */
class DmirrorExclusiveTest {
  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void exclusive_thenCpuAccess_revokesTheAtomicEntries(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(3);
      DmirrorCmd c = run(m, DmirrorCommand.EXCLUSIVE, a, 3);
      assertThat(c.cpages()).isEqualTo(3);
      assertThat(c.faults()).isZero();
      for (int i = 0; i < 3 * WORDS; i += 17) {
        assertThat(c.word(i)).isEqualTo(i);
      }
      for (int i = 0; i < 3; i++) {
        PteView pte = f.proc.pte(a + i * PAGE);
        assertThat(pte.type()).isEqualTo(PteView.Type.DEVICE_EXCLUSIVE);
        assertThat(pte.owner()).isSameAs(m.device());
      }
      assertErrno(() -> run(m, DmirrorCommand.CHECK_EXCLUSIVE, a, 3), Errno.EPERM);
      assertErrno(() -> run(m, DmirrorCommand.CHECK_EXCLUSIVE, a + 2 * PAGE, 1), Errno.EPERM);
      // The device reads through its atomic entries without faulting.
      assertThat(run(m, DmirrorCommand.READ, a, 3).faults()).isZero();
      for (int i = 0; i < 3; i++) {
        long va = a + i * PAGE;
        assertThat(f.proc.load(va)).isEqualTo(i * WORDS);
        f.proc.store(va, i * WORDS + 1);
      }
      run(m, DmirrorCommand.CHECK_EXCLUSIVE, a, 3);
      assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.PRESENT);
      DmirrorCmd r = run(m, DmirrorCommand.READ, a, 3);
      assertThat(r.word(WORDS)).isEqualTo(WORDS + 1);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void exclusive_partlyRevoked_checkFailsOnlyWhereAtomicRemains(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(3);
      run(m, DmirrorCommand.EXCLUSIVE, a, 3);
      f.proc.load(a);
      // The CLEAR of page 0 erases pages 0 and 1: the erase includes the page at the range's end.
      run(m, DmirrorCommand.CHECK_EXCLUSIVE, a, 2);
      assertThat(f.proc.pte(a + PAGE).type()).isEqualTo(PteView.Type.DEVICE_EXCLUSIVE);
      assertErrno(() -> run(m, DmirrorCommand.CHECK_EXCLUSIVE, a, 3), Errno.EPERM);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void exclusive_twice_keepsThePagesExclusive(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      run(m, DmirrorCommand.EXCLUSIVE, a, 1);
      DmirrorCmd c = run(m, DmirrorCommand.EXCLUSIVE, a, 2);
      assertThat(c.cpages()).isEqualTo(2);
      assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.DEVICE_EXCLUSIVE);
      assertThat(f.proc.pte(a + PAGE).type()).isEqualTo(PteView.Type.DEVICE_EXCLUSIVE);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void exclusive_thenMprotectReadOnly_deviceWriteFailsWithEperm(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      run(m, DmirrorCommand.EXCLUSIVE, a, 2);
      f.proc.mprotect(a, 2 * PAGE, PROT_READ);
      assertErrno(() -> run(m, DmirrorCommand.WRITE, a, 2), Errno.EPERM);
      run(m, DmirrorCommand.CHECK_EXCLUSIVE, a, 2);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void exclusive_ofZeroPageAndNeverTouched_allocatesWritablePages(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.anon(2);
      f.proc.load(a);
      DmirrorCmd c = run(m, DmirrorCommand.EXCLUSIVE, a, 2);
      assertThat(c.cpages()).isEqualTo(2);
      assertThat(c.word(0)).isZero();
      assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.DEVICE_EXCLUSIVE);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void exclusive_ofSharedOrFileMemory_fails(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long shared = f.filled(f.proc, 1, ANON_SHARED);
      SimFile file = f.machine.createFile("f", 1);
      long mapped = f.proc.mmap(0, PAGE, RW, MAP_SHARED, file, 0);
      // The kernel answers EOPNOTSUPP; the simulation's errno set spells it EINVAL.
      assertErrno(() -> run(m, DmirrorCommand.EXCLUSIVE, shared, 1), Errno.EINVAL);
      assertErrno(() -> run(m, DmirrorCommand.EXCLUSIVE, mapped, 1), Errno.EINVAL);
      assertErrno(() -> run(m, DmirrorCommand.EXCLUSIVE, shared + 1000 * PAGE, 1), Errno.EFAULT);
      long ro = f.filled(1);
      f.proc.mprotect(ro, PAGE, PROT_READ);
      assertErrno(() -> run(m, DmirrorCommand.EXCLUSIVE, ro, 1), Errno.EFAULT);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void exclusive_thenFork_copiesOnWriteInBothProcesses(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(1);
      run(m, DmirrorCommand.EXCLUSIVE, a, 1);
      SimProcess child = f.proc.fork();
      run(m, DmirrorCommand.CHECK_EXCLUSIVE, a, 1); // fork restored the entry: revoked
      child.store(a, 1000);
      f.proc.store(a + 8, 2000);
      assertThat(f.proc.load(a)).isZero();
      assertThat(child.load(a + 8)).isEqualTo(1);
      DmirrorMirror cm = f.open(child, 0);
      assertThat(run(cm, DmirrorCommand.READ, a, 1).word(0)).isEqualTo(1000);
      assertThat(run(m, DmirrorCommand.READ, a, 1).word(1)).isEqualTo(2000);
      child.exit();
    }
  }
}
