package io.mmulab.testkit.dmirror;

import static io.mmulab.testkit.dmirror.DmirrorFixture.ANON_PRIVATE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.ANON_SHARED;
import static io.mmulab.testkit.dmirror.DmirrorFixture.PAGE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.WORDS;
import static io.mmulab.testkit.dmirror.DmirrorFixture.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.mm.SimProcess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A mirror stays bound to its opener's address space; after {@code fork} the child opens its own
 * (docs/dmirror.md, "Devices and mirrors"). The fork's write-protection and the copy-on-write
 * breaks reach the mirrors.
 */
class DmirrorForkTest {
  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void childWrite_privateMemory_isSeenByTheChildOnly(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror parent = f.open();
      long a = f.filled(2);
      run(parent, DmirrorCommand.WRITE, a, 2); // writable entries, zeroes everywhere
      SimProcess child = f.proc.fork();
      assertThat(parent.mappedPages()).isZero(); // the fork write-protected the parent's pages
      DmirrorMirror cm = f.open(child, 0);
      DmirrorCmd w = DmirrorFixture.cmd(a, 2).setWord(0, 41).setWord(WORDS, 42);
      cm.ioctl(DmirrorCommand.WRITE, w);
      assertThat(w.faults()).isEqualTo(1);
      assertThat(child.load(a)).isEqualTo(41);
      assertThat(f.proc.load(a)).isZero();
      DmirrorCmd pr = run(parent, DmirrorCommand.READ, a, 2);
      assertThat(pr.word(WORDS)).isZero();
      // The parent's device write breaks copy-on-write on its side.
      parent.ioctl(DmirrorCommand.WRITE, DmirrorFixture.cmd(a, 1).setWord(0, 7));
      assertThat(f.proc.load(a)).isEqualTo(7);
      assertThat(child.load(a)).isEqualTo(41);
      child.exit();
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void childWrite_sharedMemory_isSeenByTheParent(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror parent = f.open();
      long a = f.filled(f.proc, 2, ANON_SHARED);
      run(parent, DmirrorCommand.READ, a, 2);
      SimProcess child = f.proc.fork();
      assertThat(parent.mappedPages()).isEqualTo(2); // shared memory is not write-protected
      DmirrorMirror cm = f.open(child, 0);
      cm.ioctl(DmirrorCommand.WRITE, DmirrorFixture.cmd(a, 2).setWord(WORDS + 1, -1));
      assertThat(f.proc.load(a + PAGE + 8)).isEqualTo(-1);
      assertThat(run(parent, DmirrorCommand.READ, a, 2).word(WORDS + 1)).isEqualTo(-1);
      child.exit();
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void parentMirror_afterFork_stillMirrorsTheParent(DriverVariant variant) throws Exception {
    try (DmirrorFixture f = new DmirrorFixture(variant)) {
      DmirrorMirror parent = f.open();
      long a = f.filled(f.proc, 1, ANON_PRIVATE);
      SimProcess child = f.proc.fork();
      child.store(a, 5);
      DmirrorCmd r = run(parent, DmirrorCommand.READ, a, 1);
      assertThat(r.word(0)).isZero();
      assertThat(parent.process()).isSameAs(f.proc);
      child.exit();
    }
  }
}
