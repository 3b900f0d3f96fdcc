package io.mmulab.testkit.dmirror;

import static io.mmulab.testkit.dmirror.DmirrorFixture.PAGE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.run;
import static io.mmulab.testkit.dmirror.DmirrorReadWriteTest.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.driver.DriverVariant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The common command validation (docs/dmirror.md, "Commands") and the errors every command shares.
 */
class DmirrorValidationTest {
  @ParameterizedTest
  @EnumSource(DmirrorCommand.class)
  void anyCommand_unalignedAddress_failsWithEinval(DmirrorCommand c) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(1);
      assertErrno(() -> m.ioctl(c, DmirrorFixture.cmd(a + 8, 1)), Errno.EINVAL);
    }
  }

  @ParameterizedTest
  @EnumSource(DmirrorCommand.class)
  void anyCommand_zeroPages_failsWithEinval(DmirrorCommand c) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(1);
      assertErrno(() -> m.ioctl(c, new DmirrorCmd(a, 0, new byte[0])), Errno.EINVAL);
    }
  }

  @ParameterizedTest
  @EnumSource(DmirrorCommand.class)
  void anyCommand_rangeWrappingPastTheTop_failsWithEinval(DmirrorCommand c) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long top = -PAGE; // the last page of the 64-bit space
      assertErrno(() -> m.ioctl(c, new DmirrorCmd(top, 1, new byte[(int) PAGE])), Errno.EINVAL);
      assertErrno(() -> m.ioctl(c, new DmirrorCmd(0, 1L << 52, null)), Errno.EINVAL);
    }
  }

  @Test
  void unknownCommand_failsWithEinval() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(1);
      assertErrno(() -> m.ioctl(0x09, DmirrorFixture.cmd(a, 1)), Errno.EINVAL); // READ_UNLOCKABLE
      assertErrno(() -> m.ioctl(-1, DmirrorFixture.cmd(a, 1)), Errno.EINVAL);
      assertThat(DmirrorCommand.of(0x08)).contains(DmirrorCommand.FLAGS);
      assertThat(DmirrorCommand.of(0x09)).isEmpty();
    }
  }

  @Test
  void failedCommand_leavesCountersOfTheBlockUntouched() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      DmirrorCmd c = DmirrorFixture.cmd(a, 2);
      m.ioctl(DmirrorCommand.READ, c);
      assertThat(c.cpages()).isEqualTo(2);
      assertThat(c.faults()).isEqualTo(1);
      f.proc.munmap(a + PAGE, PAGE);
      assertErrno(() -> m.ioctl(DmirrorCommand.READ, c), Errno.EFAULT);
      assertThat(c.cpages()).isEqualTo(2); // stale: the block is not copied back on error
      assertThat(c.faults()).isEqualTo(1);
    }
  }

  @Test
  void successfulCommand_zeroesCountersOnEntry() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      DmirrorCmd c = DmirrorFixture.cmd(a, 2);
      m.ioctl(DmirrorCommand.READ, c);
      m.ioctl(DmirrorCommand.CHECK_EXCLUSIVE, c);
      assertThat(c.cpages()).isZero();
      assertThat(c.faults()).isZero();
    }
  }

  @Test
  void read_userBufferTooShort_failsWithEfaultAfterDoingTheWork() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      assertErrno(
          () -> m.ioctl(DmirrorCommand.READ, new DmirrorCmd(a, 2, new byte[(int) PAGE])),
          Errno.EFAULT);
      assertThat(m.mappedPages()).isEqualTo(2);
      assertErrno(() -> m.ioctl(DmirrorCommand.READ, new DmirrorCmd(a, 2, null)), Errno.EFAULT);
    }
  }

  @Test
  void write_userBufferTooShort_failsWithEfaultBeforeTouchingAnything() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      assertErrno(
          () -> m.ioctl(DmirrorCommand.WRITE, new DmirrorCmd(a, 2, new byte[8])), Errno.EFAULT);
      assertThat(m.mappedPages()).isZero();
    }
  }

  @Test
  void snapshot_userBufferTooShort_failsWithEfault() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      assertErrno(
          () -> m.ioctl(DmirrorCommand.SNAPSHOT, new DmirrorCmd(a, 2, new byte[1])), Errno.EFAULT);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = DmirrorCommand.class,
      names = {"READ", "WRITE"})
  void readWrite_hugeRange_failsWithEnomemForTheBounceBuffer(DmirrorCommand c) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(1);
      assertErrno(() -> m.ioctl(c, new DmirrorCmd(a, 1L << 20, null)), Errno.ENOMEM);
    }
  }

  @Test
  void migrateAndExclusive_hugeRange_failOnTheMemoryFirst() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(1);
      // Both walk the range before they allocate the read-back buffer, as the kernel does.
      assertErrno(
          () -> m.ioctl(DmirrorCommand.MIGRATE_TO_DEV, new DmirrorCmd(a, 1L << 20, null)),
          Errno.EINVAL);
      assertErrno(
          () -> m.ioctl(DmirrorCommand.EXCLUSIVE, new DmirrorCmd(a, 1L << 20, null)), Errno.EFAULT);
    }
  }

  @Test
  void closedFile_failsWithEinval() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(1);
      m.close();
      m.close(); // idempotent
      assertErrno(() -> run(m, DmirrorCommand.READ, a, 1), Errno.EINVAL);
    }
  }

  @Test
  void flags_setsTheWordFromNpages_andZeroIsRefusedByValidation() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(1);
      m.ioctl(DmirrorCommand.FLAGS, new DmirrorCmd(a, DmirrorProt.FLAG_FAIL_ALLOC, null));
      assertThat(m.flags()).isEqualTo(DmirrorProt.FLAG_FAIL_ALLOC);
      m.ioctl(DmirrorCommand.FLAGS, new DmirrorCmd(a, 6, null));
      assertThat(m.flags()).isEqualTo(6);
      assertErrno(() -> m.ioctl(DmirrorCommand.FLAGS, new DmirrorCmd(a, 0, null)), Errno.EINVAL);
      assertThat(m.flags()).isEqualTo(6);
    }
  }

  @Test
  void checkExclusive_withoutAtomicEntries_succeeds() throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(DriverVariant.CONSOLIDATED)) {
      DmirrorMirror m = f.open();
      long a = f.filled(2);
      run(m, DmirrorCommand.READ, a, 2);
      run(m, DmirrorCommand.CHECK_EXCLUSIVE, a, 2);
    }
  }
}
