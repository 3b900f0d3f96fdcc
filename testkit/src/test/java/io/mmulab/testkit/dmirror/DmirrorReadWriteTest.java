package io.mmulab.testkit.dmirror;

import static io.mmulab.sim.mm.Mman.MAP_PRIVATE;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_NONE;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static io.mmulab.testkit.dmirror.DmirrorFixture.ANON_SHARED;
import static io.mmulab.testkit.dmirror.DmirrorFixture.PAGE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.RW;
import static io.mmulab.testkit.dmirror.DmirrorFixture.WORDS;
import static io.mmulab.testkit.dmirror.DmirrorFixture.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.mm.Madvise;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimFile;
import java.util.concurrent.atomic.AtomicBoolean;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** READ and WRITE (docs/dmirror.md): data, {@code cpages}, {@code faults} and error codes. */
class DmirrorReadWriteTest {
  static void assertErrno(ThrowingCallable call, Errno errno) {
    assertThatThrownBy(call)
        .isInstanceOf(ErrnoException.class)
        .satisfies(e -> assertThat(((ErrnoException) e).errno()).isEqualTo(errno));
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void read_freshAnonymousRange_takesOneFaultRound(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(4);
      DmirrorCmd c = run(m, DmirrorCommand.READ, a, 4);
      assertThat(c.cpages()).isEqualTo(4);
      assertThat(c.faults()).isEqualTo(1);
      for (int i = 0; i < 4 * WORDS; i++) {
        assertThat(c.word(i)).isEqualTo(i);
      }
      assertThat(m.mappedPages()).isEqualTo(4);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void read_alreadyMirrored_takesNoFaultRound(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(3);
      run(m, DmirrorCommand.READ, a, 3);
      DmirrorCmd again = run(m, DmirrorCommand.READ, a, 3);
      assertThat(again.cpages()).isEqualTo(3);
      assertThat(again.faults()).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void read_moreThanOneFaultChunk_stillOneFaultRound(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      int pages = DmirrorMirror.FAULT_CHUNK + 6;
      long a = f.filled(pages);
      DmirrorCmd c = run(m, DmirrorCommand.READ, a, pages);
      assertThat(c.cpages()).isEqualTo(pages);
      assertThat(c.faults()).isEqualTo(1);
      assertThat(c.word(pages * WORDS - 1)).isEqualTo(pages * WORDS - 1);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void read_partlyMirrored_faultsFromTheFirstGapOnly(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(4);
      run(m, DmirrorCommand.READ, a, 2);
      DmirrorCmd c = run(m, DmirrorCommand.READ, a, 4);
      assertThat(c.cpages()).isEqualTo(4);
      assertThat(c.faults()).isEqualTo(1);
      assertThat(c.word(3 * WORDS)).isEqualTo(3 * WORDS);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void read_invalidationBetweenFaultRoundAndCopy_countsASecondRound(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      int pages = DmirrorMirror.FAULT_CHUNK + 1;
      long a = f.filled(pages);
      AtomicBoolean once = new AtomicBoolean();
      // After the first chunk is programmed, while the second is being looked up, the CPU drops
      // write permission on page 0: its entry is erased, and the copy pass must fault again.
      m.setAfterLookupHook(
          () -> {
            if (m.mappedPages() > 0 && once.compareAndSet(false, true)) {
              try {
                f.proc.mprotect(a, PAGE, PROT_READ);
              } catch (ErrnoException e) {
                throw new AssertionError(e);
              }
            }
          });
      DmirrorCmd c = run(m, DmirrorCommand.READ, a, pages);
      assertThat(once).isTrue();
      assertThat(c.cpages()).isEqualTo(pages);
      assertThat(c.faults()).isEqualTo(2);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void read_neverTouchedAnonymous_readsZeroPageWithoutAllocating(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.anon(2);
      int before = f.memory.allocatedFrames();
      DmirrorCmd c = run(m, DmirrorCommand.READ, a, 2);
      assertThat(c.cpages()).isEqualTo(2);
      assertThat(c.faults()).isEqualTo(1);
      assertThat(c.word(0)).isZero();
      assertThat(c.word(2 * WORDS - 1)).isZero();
      assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.ZERO);
      assertThat(f.memory.allocatedFrames()).isEqualTo(before);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void write_freshRange_writesProcessMemoryInOneRound(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.anon(3);
      DmirrorCmd c = DmirrorFixture.cmd(a, 3);
      for (int i = 0; i < 3 * WORDS; i++) {
        c.setWord(i, 1000 + i);
      }
      m.ioctl(DmirrorCommand.WRITE, c);
      assertThat(c.cpages()).isEqualTo(3);
      assertThat(c.faults()).isEqualTo(1);
      for (int i = 0; i < 3 * WORDS; i += 97) {
        assertThat(f.proc.load(a + 8L * i)).isEqualTo(1000 + i);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void write_afterReadOfZeroPage_breaksCopyOnWriteInOneRound(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.anon(1);
      run(m, DmirrorCommand.READ, a, 1); // maps the zero page read-only
      DmirrorCmd c = DmirrorFixture.cmd(a, 1).setWord(5, 55);
      m.ioctl(DmirrorCommand.WRITE, c);
      assertThat(c.faults()).isEqualTo(1); // the COW retry inside the fault is not a round
      assertThat(f.proc.load(a + 40)).isEqualTo(55);
      assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.PRESENT);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void write_readOnlyMapping_failsWithEperm(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      f.proc.mprotect(a, 2 * PAGE, PROT_READ);
      DmirrorCmd c = DmirrorFixture.cmd(a, 2);
      assertErrno(() -> m.ioctl(DmirrorCommand.WRITE, c), Errno.EPERM);
      assertThat(c.cpages()).isZero(); // not copied back on failure
      DmirrorCmd r = run(m, DmirrorCommand.READ, a, 2);
      assertThat(r.word(WORDS)).isEqualTo(WORDS);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void mprotect_downgradeAndUpgrade_erasesEntriesAndWritesAgainAfterwards(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      m.ioctl(DmirrorCommand.WRITE, DmirrorFixture.cmd(a, 2).setWord(0, 7));
      assertThat(m.mappedPages()).isEqualTo(2);
      f.proc.mprotect(a, 2 * PAGE, PROT_READ);
      assertThat(m.mappedPages()).isZero();
      assertErrno(() -> m.ioctl(DmirrorCommand.WRITE, DmirrorFixture.cmd(a, 2)), Errno.EPERM);
      f.proc.mprotect(a, 2 * PAGE, RW);
      DmirrorCmd c = DmirrorFixture.cmd(a, 2).setWord(1, 11);
      m.ioctl(DmirrorCommand.WRITE, c);
      assertThat(c.faults()).isEqualTo(1);
      assertThat(f.proc.load(a + 8)).isEqualTo(11);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void read_protNone_failsWithEfault(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      f.proc.mprotect(a, 2 * PAGE, PROT_NONE);
      assertErrno(() -> run(m, DmirrorCommand.READ, a, 2), Errno.EFAULT);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void read_afterMunmap_failsWithEfaultAndEraseOnePagePastTheRange(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(4);
      run(m, DmirrorCommand.READ, a, 4);
      f.proc.munmap(a + PAGE, PAGE);
      // Pages 1 and 2 are erased: the erase covers end >> PAGE_SHIFT inclusive (docs/dmirror.md,
      // "The subscription").
      assertThat(m.mappedPages()).isEqualTo(2);
      DmirrorCmd c = DmirrorFixture.cmd(a, 4);
      assertErrno(() -> m.ioctl(DmirrorCommand.READ, c), Errno.EFAULT);
      assertThat(c.cpages()).isZero();
      assertThat(run(m, DmirrorCommand.READ, a, 1).faults()).isZero();
      DmirrorCmd tail = run(m, DmirrorCommand.READ, a + 2 * PAGE, 2);
      assertThat(tail.faults()).isEqualTo(1);
      assertThat(tail.word(WORDS)).isEqualTo(3 * WORDS);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void write_failingHalfway_leavesEarlierPagesWritten(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      f.proc.munmap(a + PAGE, PAGE);
      DmirrorCmd c = DmirrorFixture.cmd(a, 2).setWord(0, 77);
      assertErrno(() -> m.ioctl(DmirrorCommand.WRITE, c), Errno.EFAULT);
      // The fault round failed on the hole, so nothing was programmed and nothing written.
      assertThat(f.proc.load(a)).isZero();
      m.ioctl(DmirrorCommand.WRITE, DmirrorFixture.cmd(a, 1).setWord(0, 5));
      DmirrorCmd c2 = DmirrorFixture.cmd(a, 2).setWord(0, 77);
      assertErrno(() -> m.ioctl(DmirrorCommand.WRITE, c2), Errno.EFAULT);
      assertThat(f.proc.load(a)).isEqualTo(77); // page 0 was mapped: the copy pass wrote it
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void readWrite_sharedAnonymous_seenByTheCpuAndByAChild(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(f.proc, 2, ANON_SHARED);
      DmirrorCmd r = run(m, DmirrorCommand.READ, a, 2);
      assertThat(r.word(WORDS + 3)).isEqualTo(WORDS + 3);
      m.ioctl(DmirrorCommand.WRITE, DmirrorFixture.cmd(a, 2).setWord(WORDS, 99));
      assertThat(f.proc.load(a + PAGE)).isEqualTo(99);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void readWrite_fileBacked_sharedAndPrivate(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      SimFile file = f.machine.createFile("data", 2);
      long shared = f.proc.mmap(0, 2 * PAGE, RW, MAP_SHARED, file, 0);
      f.proc.store(shared + PAGE, 42);
      long priv = f.proc.mmap(0, 2 * PAGE, RW, MAP_PRIVATE, file, 0);
      DmirrorCmd r = run(m, DmirrorCommand.READ, priv, 2);
      assertThat(r.word(WORDS)).isEqualTo(42);
      // A device write to the private mapping breaks copy-on-write: the file keeps 42.
      m.ioctl(DmirrorCommand.WRITE, DmirrorFixture.cmd(priv, 2).setWord(WORDS, 43));
      assertThat(f.proc.load(priv + PAGE)).isEqualTo(43);
      assertThat(f.proc.load(shared + PAGE)).isEqualTo(42);
      // A device write to the shared mapping reaches the file.
      m.ioctl(DmirrorCommand.WRITE, DmirrorFixture.cmd(shared, 2).setWord(WORDS, 44));
      assertThat(f.proc.load(shared + PAGE)).isEqualTo(44);
      long again = f.proc.mmap(0, PAGE, PROT_READ, MAP_SHARED, file, PAGE);
      assertThat(f.proc.load(again)).isEqualTo(44);
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void madvise_dontneed_erasesEntriesAndReadsZeroesAfterwards(DriverVariant variant)
      throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      run(m, DmirrorCommand.READ, a, 2);
      f.proc.madvise(a, 2 * PAGE, Madvise.DONTNEED);
      assertThat(m.mappedPages()).isZero();
      DmirrorCmd c = run(m, DmirrorCommand.READ, a, 2);
      assertThat(c.faults()).isEqualTo(1);
      assertThat(c.word(WORDS + 1)).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void exit_dropsEveryEntry_andLaterCommandsFail(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      run(m, DmirrorCommand.READ, a, 2);
      f.proc.exit();
      assertThat(m.mappedPages()).isZero();
      assertErrno(() -> run(m, DmirrorCommand.READ, a, 2), Errno.EFAULT);
      assertErrno(() -> run(m, DmirrorCommand.WRITE, a, 2), Errno.EFAULT);
      assertErrno(() -> run(m, DmirrorCommand.SNAPSHOT, a, 2), Errno.EINVAL);
      assertErrno(() -> run(m, DmirrorCommand.MIGRATE_TO_DEV, a, 2), Errno.EINVAL);
      assertErrno(() -> run(m, DmirrorCommand.MIGRATE_TO_SYS, a, 2), Errno.EINVAL);
      assertErrno(() -> run(m, DmirrorCommand.EXCLUSIVE, a, 2), Errno.EINVAL);
    }
  }
}
