package io.mmulab.testkit.dmirror;

import static io.mmulab.sim.mm.Mman.MAP_PRIVATE;
import static io.mmulab.sim.mm.Mman.PROT_NONE;
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
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimFile;
import io.mmulab.sim.mm.SimProcess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * MIGRATE_TO_DEV, MIGRATE_TO_SYS, the CPU fault back from device memory, RELEASE and FLAGS
 * (docs/dmirror.md).
 */
class DmirrorMigrateTest {
  private static PteView.Type type(DmirrorFixture f, long va) {
    return f.proc.pte(va).type();
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void migrateToDev_anonymous_movesEveryPageAndReadsItBack(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      Dmirror dev = m.device();
      long a = f.filled(4);
      DmirrorCmd c = run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 4);
      assertThat(c.cpages()).isEqualTo(4);
      assertThat(c.faults()).isZero();
      for (int i = 0; i < 4 * WORDS; i += 31) {
        assertThat(c.word(i)).isEqualTo(i);
      }
      for (int i = 0; i < 4; i++) {
        PteView pte = f.proc.pte(a + i * PAGE);
        assertThat(pte.type()).isEqualTo(PteView.Type.DEVICE_PRIVATE);
        assertThat(pte.owner()).isSameAs(dev);
        assertThat(pte.writable()).isTrue();
      }
      assertThat(dev.pagesInUse()).isEqualTo(4);
      assertThat(dev.calloc()).isEqualTo(4);
      assertThat(m.mappedPages()).isEqualTo(4);
      // The device reads its own memory without faulting it back.
      DmirrorCmd r = run(m, DmirrorCommand.READ, a, 4);
      assertThat(r.faults()).isZero();
      assertThat(r.word(3 * WORDS + 7)).isEqualTo(3 * WORDS + 7);
      assertThat(type(f, a)).isEqualTo(PteView.Type.DEVICE_PRIVATE);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void migrateToDev_neverTouchedAndZeroPages_migrateAsZeroes(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.anon(2);
      f.proc.load(a + PAGE); // zero page
      DmirrorCmd c = run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2);
      assertThat(c.cpages()).isEqualTo(2);
      assertThat(c.word(0)).isZero();
      assertThat(c.word(2 * WORDS - 1)).isZero();
      assertThat(type(f, a)).isEqualTo(PteView.Type.DEVICE_PRIVATE);
      assertThat(type(f, a + PAGE)).isEqualTo(PteView.Type.DEVICE_PRIVATE);
      assertThat(f.proc.pte(a).writable()).isTrue(); // no source page: writable like the VMA
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void cpuAccess_toDevicePage_faultsItBackAndErasesTheDeviceEntry(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      Dmirror dev = m.device();
      long a = f.filled(2);
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2);
      m.ioctl(DmirrorCommand.WRITE, DmirrorFixture.cmd(a, 2).setWord(WORDS, -5));
      assertThat(f.proc.load(a + PAGE)).isEqualTo(-5); // faults page 1 back
      assertThat(type(f, a + PAGE)).isEqualTo(PteView.Type.PRESENT);
      assertThat(type(f, a)).isEqualTo(PteView.Type.DEVICE_PRIVATE);
      assertThat(dev.pagesInUse()).isEqualTo(1);
      assertThat(dev.cfree()).isEqualTo(1);
      assertThat(m.mappedPages()).isEqualTo(1);
      f.proc.store(a + 8, 9);
      assertThat(dev.pagesInUse()).isZero();
      DmirrorCmd snap = run(m, DmirrorCommand.SNAPSHOT, a, 2);
      assertThat(snap.perm(0)).isEqualTo(DmirrorProt.WRITE);
      assertThat(snap.perm(1)).isEqualTo(DmirrorProt.WRITE);
      DmirrorCmd r = run(m, DmirrorCommand.READ, a, 2);
      assertThat(r.word(1)).isEqualTo(9);
      assertThat(r.word(2)).isZero(); // the device WRITE of both pages wrote zeroes here
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void migrateToSys_countsOnlyPagesThatLivedOnTheDevice(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      Dmirror dev = m.device();
      long a = f.filled(4);
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a + PAGE, 2);
      DmirrorCmd c = run(m, DmirrorCommand.MIGRATE_TO_SYS, a, 4);
      assertThat(c.cpages()).isEqualTo(2);
      assertThat(dev.pagesInUse()).isZero();
      for (int i = 0; i < 4; i++) {
        assertThat(type(f, a + i * PAGE)).isEqualTo(PteView.Type.PRESENT);
      }
      assertThat(f.proc.load(a + 2 * PAGE + 8)).isEqualTo(2 * WORDS + 1);
      assertThat(run(m, DmirrorCommand.MIGRATE_TO_SYS, a, 4).cpages()).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void migrate_holeOrUnreadableVma_failsWithEinval(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(3);
      f.proc.munmap(a + PAGE, PAGE);
      f.proc.mprotect(a + 2 * PAGE, PAGE, PROT_NONE);
      assertErrno(() -> run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2), Errno.EINVAL);
      // Page 0 was migrated before the walk met the hole, as in the kernel.
      assertThat(type(f, a)).isEqualTo(PteView.Type.DEVICE_PRIVATE);
      assertErrno(() -> run(m, DmirrorCommand.MIGRATE_TO_DEV, a + 2 * PAGE, 1), Errno.EINVAL);
      assertErrno(() -> run(m, DmirrorCommand.MIGRATE_TO_SYS, a, 2), Errno.EINVAL);
      assertThat(type(f, a)).isEqualTo(PteView.Type.PRESENT); // ...and migrated back the same way
      assertErrno(() -> run(m, DmirrorCommand.MIGRATE_TO_SYS, a + 2 * PAGE, 1), Errno.EINVAL);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void migrateToDev_sharedOrFileMemory_failsWithEnoent(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long shared = f.filled(f.proc, 2, ANON_SHARED);
      SimFile file = f.machine.createFile("f", 1);
      long priv = f.proc.mmap(0, PAGE, RW, MAP_PRIVATE, file, 0);
      f.proc.load(priv);
      DmirrorCmd c = DmirrorFixture.cmd(shared, 2);
      assertErrno(() -> m.ioctl(DmirrorCommand.MIGRATE_TO_DEV, c), Errno.ENOENT);
      assertThat(c.cpages()).isZero();
      assertErrno(() -> run(m, DmirrorCommand.MIGRATE_TO_DEV, priv, 1), Errno.ENOENT);
      assertThat(m.device().pagesInUse()).isZero();
      assertThat(type(f, shared)).isEqualTo(PteView.Type.PRESENT);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void migrateToDev_twice_readsBackWhatIsAlreadyThere(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 1);
      DmirrorCmd c = run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2);
      assertThat(c.cpages()).isEqualTo(2);
      assertThat(c.word(WORDS)).isEqualTo(WORDS);
      assertThat(m.device().calloc()).isEqualTo(2);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void otherDevicesPage_isNotMigratedAndIsFaultedBackByARead(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m0 = f.open(f.proc, 0);
      DmirrorMirror m1 = f.open(f.proc, 1);
      long a = f.filled(1);
      run(m1, DmirrorCommand.MIGRATE_TO_DEV, a, 1);
      assertErrno(() -> run(m0, DmirrorCommand.MIGRATE_TO_DEV, a, 1), Errno.ENOENT);
      assertThat(f.proc.pte(a).owner()).isSameAs(m1.device());
      DmirrorCmd r = run(m0, DmirrorCommand.READ, a, 1);
      assertThat(r.faults()).isEqualTo(1);
      assertThat(r.word(9)).isEqualTo(9);
      assertThat(type(f, a)).isEqualTo(PteView.Type.PRESENT);
      assertThat(m1.device().pagesInUse()).isZero();
      assertThat(m1.mappedPages()).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void release_evictsEveryChunkOfTheDevice(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      DmirrorMirror other = f.open(f.proc, 0);
      Dmirror dev = m.device();
      long a = f.filled(3);
      long b = f.filled(1);
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 3);
      run(other, DmirrorCommand.MIGRATE_TO_DEV, b, 1);
      assertThat(dev.chunkCount()).isEqualTo(1);
      DmirrorCmd c = DmirrorFixture.cmd(a, 1);
      m.ioctl(DmirrorCommand.RELEASE, c);
      assertThat(c.cpages()).isZero();
      assertThat(dev.pagesInUse()).isZero();
      assertThat(dev.chunkCount()).isZero();
      assertThat(dev.cfree()).isZero(); // pages of removed chunks do not go back
      assertThat(m.mappedPages()).isZero();
      assertThat(other.mappedPages()).isZero();
      assertThat(type(f, a + 2 * PAGE)).isEqualTo(PteView.Type.PRESENT);
      assertThat(f.proc.load(a + 2 * PAGE + 16)).isEqualTo(2 * WORDS + 2);
      assertThat(f.proc.load(b + 8)).isEqualTo(1);
      // The next allocation creates a new chunk.
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 1);
      assertThat(dev.chunkCount()).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void close_evictsTheDevicesMemory(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2);
      m.close();
      assertThat(m.device().pagesInUse()).isZero();
      assertThat(m.device().chunkCount()).isEqualTo(1); // evicted, not removed
      assertThat(type(f, a)).isEqualTo(PteView.Type.PRESENT);
      assertThat(f.proc.load(a + PAGE)).isEqualTo(WORDS);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void failAlloc_basePage_isNotMigratedOnceThenTheFlagIsGone(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      m.ioctl(DmirrorCommand.FLAGS, new DmirrorCmd(a, DmirrorProt.FLAG_FAIL_ALLOC, null));
      DmirrorCmd c = DmirrorFixture.cmd(a, 2);
      assertErrno(() -> m.ioctl(DmirrorCommand.MIGRATE_TO_DEV, c), Errno.ENOENT);
      assertThat(m.flags()).isZero();
      assertThat(type(f, a)).isEqualTo(PteView.Type.PRESENT); // the first allocation failed
      assertThat(type(f, a + PAGE)).isEqualTo(PteView.Type.DEVICE_PRIVATE);
      DmirrorCmd again = run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2);
      assertThat(again.cpages()).isEqualTo(2);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void failAlloc_hugePage_fallsBackToBasePages(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.huge(1);
      int pages = DmirrorMirror.MIGRATE_CHUNK;
      m.ioctl(DmirrorCommand.FLAGS, new DmirrorCmd(a, DmirrorProt.FLAG_FAIL_ALLOC, null));
      DmirrorCmd c = run(m, DmirrorCommand.MIGRATE_TO_DEV, a, pages);
      assertThat(c.cpages()).isEqualTo(pages);
      assertThat(m.flags()).isZero();
      assertThat(c.word(2 * WORDS)).isEqualTo(2 * WORDS);
      assertThat(f.proc.load(a + 2 * PAGE)).isEqualTo(2 * WORDS); // fault one page back
      assertThat(type(f, a + 3 * PAGE)).isEqualTo(PteView.Type.DEVICE_PRIVATE);
    }
  }

  /**
   * An untouched range aligned to and spanning a 2 MiB block is one huge unit: the forced failure
   * hits its huge allocation, the unit falls back to 512 base pages and every page migrates (the
   * kernel's collect-hole path), with or without the huge-page hint.
   */
  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void failAlloc_untouchedAlignedBlock_isOneUnitThatFallsBackToBasePages(DriverVariant variant)
      throws Exception {
    for (int hint : new int[] {0, Mman.MAP_HUGE}) {
      try (DmirrorFixture f = new DmirrorFixture(variant)) {
        DmirrorMirror m = f.open();
        long raw =
            f.proc.mmap(0, 2 * DmirrorFixture.HPAGE, PROT_READ, DmirrorFixture.ANON_PRIVATE | hint);
        long a = (raw + DmirrorFixture.HPAGE - 1) & -DmirrorFixture.HPAGE;
        int pages = (int) (DmirrorFixture.HPAGE / PAGE);
        m.ioctl(DmirrorCommand.FLAGS, new DmirrorCmd(a, DmirrorProt.FLAG_FAIL_ALLOC, null));
        DmirrorCmd c = run(m, DmirrorCommand.MIGRATE_TO_DEV, a, pages);
        assertThat(c.cpages()).isEqualTo(pages);
        assertThat(m.flags()).isZero();
        for (int i = 0; i < pages * WORDS; i += 97) {
          assertThat(c.word(i)).isZero();
        }
        assertThat(m.device().pagesInUse()).isEqualTo(pages);
        assertThat(f.proc.load(a + 2048 * 4)).isZero(); // fault one page back
      }
    }
  }

  /**
   * A huge page migrated to the device stays huge there: SNAPSHOT reports the PMD level; a change
   * to part of it splits it, a CPU access brings all of it back, and with FAIL_ALLOC it lands in
   * base pages.
   */
  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void hugePage_staysHugeOnTheDevice_andSplitsOnFallback(DriverVariant variant) throws Exception {
    int pages = (int) (DmirrorFixture.HPAGE / PAGE);
    int huge = DmirrorProt.DEV_PRIVATE_LOCAL | DmirrorProt.WRITE | DmirrorProt.PMD;
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.huge(2);
      assertThat(run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2 * pages).cpages()).isEqualTo(2 * pages);
      DmirrorCmd s = run(m, DmirrorCommand.SNAPSHOT, a, 2 * pages);
      for (int i = 0; i < 2 * pages; i++) {
        assertThat(s.perm(i)).isEqualTo(huge);
      }
      assertThat(f.proc.pte(a).order()).isEqualTo(9);
      // Part of the second one goes away: the rest is split into base entries.
      f.proc.munmap(a + DmirrorFixture.HPAGE, 4 * PAGE);
      s = run(m, DmirrorCommand.SNAPSHOT, a + DmirrorFixture.HPAGE + 4 * PAGE, 4);
      assertThat(s.perm(0)).isEqualTo(DmirrorProt.DEV_PRIVATE_LOCAL | DmirrorProt.WRITE);
      // A CPU access to the first brings all of it back.
      assertThat(f.proc.load(a + 5 * PAGE)).isEqualTo(5L * WORDS);
      assertThat(type(f, a + 300 * PAGE)).isEqualTo(PteView.Type.PRESENT);
    }
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.huge(1);
      m.ioctl(DmirrorCommand.FLAGS, new DmirrorCmd(a, DmirrorProt.FLAG_FAIL_ALLOC, null));
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a, pages);
      DmirrorCmd s = run(m, DmirrorCommand.SNAPSHOT, a, pages);
      assertThat(s.perm(7)).isEqualTo(DmirrorProt.DEV_PRIVATE_LOCAL | DmirrorProt.WRITE);
      assertThat(f.proc.load(a + 5 * PAGE)).isEqualTo(5L * WORDS);
      assertThat(type(f, a + 300 * PAGE)).isEqualTo(PteView.Type.DEVICE_PRIVATE);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void munmap_ofDeviceMemory_freesThePagesBackToTheChunk(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2);
      f.proc.munmap(a, 2 * PAGE);
      assertThat(m.mappedPages()).isZero();
      assertThat(m.device().pagesInUse()).isZero();
      assertThat(m.device().cfree()).isEqualTo(2);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void mprotect_ofDeviceMemory_makesTheDeviceEntryReadOnly(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(1);
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 1);
      f.proc.mprotect(a, PAGE, PROT_READ);
      // hmm_range_fault reports the device's own page as it is, read-only, and never faults it
      // (so never checks the VMA): the write fault's result is read-only, which is EFAULT.
      assertErrno(() -> run(m, DmirrorCommand.WRITE, a, 1), Errno.EFAULT);
      DmirrorCmd r = run(m, DmirrorCommand.READ, a, 1);
      assertThat(r.faults()).isEqualTo(1);
      assertThat(r.word(4)).isEqualTo(4);
      assertThat(type(f, a)).isEqualTo(PteView.Type.DEVICE_PRIVATE);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void fork_afterMigration_bothSidesReadTheirCopy(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2);
      SimProcess child = f.proc.fork();
      DmirrorMirror cm = f.open(child, 0);
      // The child's write faults its copy back to RAM; the parent's page stays on the device.
      child.store(a, 123);
      assertThat(child.load(a)).isEqualTo(123);
      assertThat(child.pte(a).type()).isEqualTo(PteView.Type.PRESENT);
      DmirrorCmd pr = run(m, DmirrorCommand.READ, a, 1);
      assertThat(pr.word(0)).isZero();
      DmirrorCmd cr = run(cm, DmirrorCommand.READ, a, 2);
      assertThat(cr.word(0)).isEqualTo(123);
      assertThat(cr.word(WORDS)).isEqualTo(WORDS);
      // RELEASE finds the page the child still shares, through the child's open mirror.
      run(m, DmirrorCommand.RELEASE, a, 1);
      assertThat(m.device().pagesInUse()).isZero();
      assertThat(child.load(a + PAGE)).isEqualTo(WORDS);
      assertThat(f.proc.load(a + PAGE)).isEqualTo(WORDS);
      child.exit();
    }
  }
}
