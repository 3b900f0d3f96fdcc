package io.mmulab.testkit.dmirror;

import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_NONE;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static io.mmulab.testkit.dmirror.DmirrorFixture.ANON_SHARED;
import static io.mmulab.testkit.dmirror.DmirrorFixture.PAGE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.RW;
import static io.mmulab.testkit.dmirror.DmirrorFixture.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.mm.SimFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** SNAPSHOT (docs/dmirror.md): the permission byte of every case. */
class DmirrorSnapshotTest {
  private static final int R = DmirrorProt.READ;
  private static final int W = DmirrorProt.WRITE;

  private static int[] perms(DmirrorCmd c, int n) {
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = c.perm(i);
    }
    return out;
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void snapshot_anonymousStates_readWriteZeroNone(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.anon(4);
      f.proc.store(a, 1); // page 0: written
      f.proc.load(a + PAGE); // page 1: zero page
      f.proc.store(a + 2 * PAGE, 1); // page 2: written, then read-only
      f.proc.mprotect(a + 2 * PAGE, PAGE, PROT_READ);
      // page 3: never touched
      DmirrorCmd c = run(m, DmirrorCommand.SNAPSHOT, a, 4);
      assertThat(c.cpages()).isEqualTo(4);
      assertThat(c.faults()).isZero();
      assertThat(perms(c, 4)).containsExactly(W, DmirrorProt.ZERO | R, R, DmirrorProt.NONE);
      assertThat(f.proc.pte(a + 3 * PAGE).type()).isEqualTo(io.mmulab.sim.mm.PteView.Type.NONE);
      assertThat(m.mappedPages()).isZero(); // a snapshot programs nothing
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void snapshot_holesAndUnreadableVmas_areErrors(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(3);
      f.proc.munmap(a + PAGE, PAGE);
      f.proc.mprotect(a + 2 * PAGE, PAGE, PROT_NONE);
      DmirrorCmd c = run(m, DmirrorCommand.SNAPSHOT, a, 3);
      assertThat(perms(c, 3)).containsExactly(W, DmirrorProt.ERROR, DmirrorProt.ERROR);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void snapshot_sharedAndFileMemory(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long shared = f.filled(f.proc, 1, ANON_SHARED);
      SimFile file = f.machine.createFile("f", 2);
      long ro = f.proc.mmap(0, 2 * PAGE, PROT_READ, MAP_SHARED, file, 0);
      f.proc.load(ro);
      assertThat(perms(run(m, DmirrorCommand.SNAPSHOT, shared, 1), 1)).containsExactly(W);
      assertThat(perms(run(m, DmirrorCommand.SNAPSHOT, ro, 2), 2))
          .containsExactly(R, DmirrorProt.NONE);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void snapshot_hugeMapping_addsPmd(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.huge(1);
      int pages = (int) (DmirrorFixture.HPAGE / PAGE);
      DmirrorCmd c = run(m, DmirrorCommand.SNAPSHOT, a, pages);
      assertThat(c.cpages()).isEqualTo(pages);
      for (int i = 0; i < pages; i++) {
        assertThat(c.perm(i)).as("page %d", i).isEqualTo(W | DmirrorProt.PMD);
      }
      // READ through a huge mapping: the device maps each base page.
      DmirrorCmd r = run(m, DmirrorCommand.READ, a + 5 * PAGE, 1);
      assertThat(r.word(0)).isEqualTo(5 * DmirrorFixture.WORDS);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void snapshot_deviceMemory_localAndOtherDevice(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m0 = f.open(f.proc, 0);
      DmirrorMirror m1 = f.open(f.proc, 1);
      long a = f.filled(3);
      run(m0, DmirrorCommand.MIGRATE_TO_DEV, a, 1);
      run(m1, DmirrorCommand.MIGRATE_TO_DEV, a + PAGE, 1);
      f.proc.mprotect(a, 3 * PAGE, PROT_READ);
      DmirrorCmd c0 = run(m0, DmirrorCommand.SNAPSHOT, a, 3);
      // Page 1 lives on device 1: not valid for device 0 (REMOTE is never seen).
      assertThat(perms(c0, 3))
          .containsExactly(DmirrorProt.DEV_PRIVATE_LOCAL | R, DmirrorProt.NONE, R);
      f.proc.mprotect(a, 3 * PAGE, RW);
      DmirrorCmd c1 = run(m1, DmirrorCommand.SNAPSHOT, a, 3);
      // The device-private entry lost write with the downgrade and the upgrade does not give it
      // back (as in the kernel); the present page is writable again.
      assertThat(perms(c1, 3))
          .containsExactly(DmirrorProt.NONE, DmirrorProt.DEV_PRIVATE_LOCAL | R, W);
      // Snapshots never fault: the pages stay on their devices.
      assertThat(f.devices.device(0).pagesInUse()).isEqualTo(1);
      assertThat(f.devices.device(1).pagesInUse()).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void snapshot_moreThanOneChunk_reportsEveryPage(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      int pages = DmirrorMirror.SNAPSHOT_CHUNK * 2 + 3;
      long a = f.anon(pages);
      f.proc.store(a + (pages - 1) * PAGE, 1);
      DmirrorCmd c = run(m, DmirrorCommand.SNAPSHOT, a, pages);
      assertThat(c.cpages()).isEqualTo(pages);
      assertThat(c.perm(0)).isEqualTo(DmirrorProt.NONE);
      assertThat(c.perm(pages - 1)).isEqualTo(W);
    }
  }
}
