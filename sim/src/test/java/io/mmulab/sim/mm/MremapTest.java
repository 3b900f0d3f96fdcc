package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.api.MmuNotifierEvent.MIGRATE;
import static io.mmulab.api.MmuNotifierEvent.UNMAP;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.HPAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_FIXED;
import static io.mmulab.sim.mm.Mman.MAP_HUGE;
import static io.mmulab.sim.mm.Mman.MAP_PFNMAP;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.MREMAP_DONTUNMAP;
import static io.mmulab.sim.mm.Mman.MREMAP_FIXED;
import static io.mmulab.sim.mm.Mman.MREMAP_MAYMOVE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.sim.mem.FrameState;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/** {@code mremap} with its flags, its errnos and its invalidations, before and after migration. */
class MremapTest {
  private static final int MOVE = MREMAP_MAYMOVE | MREMAP_FIXED;

  private final MmFixture f = new MmFixture();

  private void assertErrno(Errno errno, ThrowingCallable call) {
    List<Vma> before = f.proc.vmas();
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(errno));
    assertThat(f.proc.vmas()).as("nothing changed").hasSameSizeAs(before);
  }

  private void assertData(long a, int pages) throws ErrnoException {
    for (int i = 0; i < pages; i++) {
      assertThat(f.proc.load(a + i * PAGE)).as("page %d", i).isEqualTo(i + 1);
    }
  }

  @Test
  void badArguments_haveTheKernelsErrnos_andChangeNothing() throws ErrnoException {
    long a = f.populated(4);
    long to = a + 64 * PAGE;

    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, 4 * PAGE, 4 * PAGE, 8, to));
    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a + 1, 4 * PAGE, 4 * PAGE, MOVE, to));
    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, 4 * PAGE, 4 * PAGE, MREMAP_FIXED, to));
    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, 4 * PAGE, 4 * PAGE, MREMAP_DONTUNMAP, to));
    assertErrno(
        Errno.EINVAL,
        () -> f.proc.mremap(a, 4 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0));
    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, 4 * PAGE, 0, MREMAP_MAYMOVE, 0));
    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, 0, 4 * PAGE, MREMAP_MAYMOVE, 0));
    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, 4 * PAGE, 4 * PAGE, MOVE, to + 8));
    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, 4 * PAGE, 4 * PAGE, MOVE, a + 2 * PAGE));
    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, 4 * PAGE, 4 * PAGE, MOVE, SimMm.TASK_SIZE));
    assertErrno(Errno.EFAULT, () -> f.proc.mremap(a + 16 * PAGE, PAGE, PAGE, MOVE, to));
    assertErrno(Errno.EFAULT, () -> f.proc.mremap(a, 5 * PAGE, 5 * PAGE, MOVE, to));
    assertData(a, 4);
  }

  @Test
  void growingWithoutMaymove_whenTheNextVmaIsInTheWay_isEnomem() throws ErrnoException {
    long a = f.populated(2);
    f.proc.mmap(a + 2 * PAGE, PAGE, RW, ANON_PRIVATE | MAP_FIXED);

    assertErrno(Errno.ENOMEM, () -> f.proc.mremap(a, 2 * PAGE, 3 * PAGE, 0, 0));
  }

  @Test
  void rawMappings_cannotGrow_norBeMovedWithDontunmap() throws ErrnoException {
    long a = f.proc.mmap(0, 2 * PAGE, RW, MAP_SHARED | MAP_PFNMAP);

    assertErrno(Errno.EFAULT, () -> f.proc.mremap(a, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE, 0));
    assertErrno(
        Errno.EINVAL,
        () ->
            f.proc.mremap(a, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, a + 64 * PAGE));
  }

  @Test
  void shrinking_unmapsTheTail_andKeepsTheAddress() throws ErrnoException {
    long a = f.populated(4);
    long tail = f.pfn(a + 3 * PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.mremap(a, 4 * PAGE, 2 * PAGE, 0, 0)).isEqualTo(a);

    assertThat(rec.events()).containsExactly(ev(UNMAP, a + 2 * PAGE, a + 4 * PAGE));
    assertThat(f.memory.state(tail)).isEqualTo(FrameState.FREED);
    assertThat(f.proc.vmas())
        .singleElement()
        .satisfies(v -> assertThat(v.end()).isEqualTo(a + 2 * PAGE));
    assertData(a, 2);
  }

  @Test
  void growingInPlace_firesNothing_andTheNewPartIsZeroFilled() throws ErrnoException {
    long a = f.populated(2);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.mremap(a, 2 * PAGE, 4 * PAGE, 0, 0)).isEqualTo(a);

    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.vmas())
        .singleElement()
        .satisfies(v -> assertThat(v.end()).isEqualTo(a + 4 * PAGE));
    assertData(a, 2);
    assertThat(f.proc.load(a + 3 * PAGE)).isZero();
  }

  @Test
  void growingWithMaymove_whenBlocked_movesTheWholeRange() throws ErrnoException {
    long a = f.populated(2);
    f.proc.mmap(a + 2 * PAGE, PAGE, RW, ANON_PRIVATE | MAP_FIXED);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    long b = f.proc.mremap(a, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE, 0);

    assertThat(b).isNotEqualTo(a);
    assertThat(rec.events())
        .containsExactly(ev(UNMAP, a, a + 2 * PAGE), ev(UNMAP, a, a + 2 * PAGE));
    assertData(b, 2);
    assertThat(f.proc.load(b + 2 * PAGE)).isZero();
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.NONE);
    f.checker.assertClean();
  }

  @Test
  void fixed_unmapsTheTargetFirst_thenMovesTheEntries() throws ErrnoException {
    long a = f.populated(3);
    long to = f.populated(3);
    long replaced = f.pfn(to);
    long moved = f.pfn(a + PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.mremap(a, 3 * PAGE, 3 * PAGE, MOVE, to)).isEqualTo(to);

    assertThat(rec.events())
        .containsExactly(
            ev(UNMAP, to, to + 3 * PAGE), ev(UNMAP, a, a + 3 * PAGE), ev(UNMAP, a, a + 3 * PAGE));
    assertThat(f.memory.state(replaced)).isEqualTo(FrameState.FREED);
    assertThat(f.pfn(to + PAGE)).isEqualTo(moved);
    assertData(to, 3);
    f.checker.assertClean();
  }

  @Test
  void fixedAndShrinking_unmapsTheTailBeforeTheMove() throws ErrnoException {
    long a = f.populated(4);
    long to = a + 64 * PAGE;
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.mremap(a, 4 * PAGE, 2 * PAGE, MOVE, to);

    assertThat(rec.events())
        .containsExactly(
            ev(UNMAP, a + 2 * PAGE, a + 4 * PAGE),
            ev(UNMAP, a, a + 2 * PAGE),
            ev(UNMAP, a, a + 2 * PAGE));
    assertData(to, 2);
    assertThat(f.proc.vmas())
        .singleElement()
        .satisfies(v -> assertThat(v.end()).isEqualTo(to + 2 * PAGE));
  }

  @Test
  void dontunmap_leavesTheOldVmaInPlaceAndEmpty() throws ErrnoException {
    long a = f.populated(3);
    long to = a + 64 * PAGE;
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.mremap(a, 3 * PAGE, 3 * PAGE, MOVE | MREMAP_DONTUNMAP, to);

    assertThat(rec.events()).containsExactly(ev(UNMAP, a, a + 3 * PAGE));
    assertThat(f.proc.vmas()).extracting(Vma::start).containsExactly(a, to);
    for (int i = 0; i < 3; i++) {
      assertThat(f.proc.pte(a + i * PAGE).type()).isEqualTo(PteView.Type.NONE);
    }
    assertData(to, 3);
    assertThat(f.proc.load(a)).isZero();
    f.checker.assertClean();
  }

  @Test
  void dontunmapWithoutFixed_picksANewPlace() throws ErrnoException {
    long a = f.populated(2);

    long b = f.proc.mremap(a, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);

    assertThat(b).isNotEqualTo(a);
    assertThat(f.proc.vmas()).extracting(Vma::start).contains(a, b);
    assertData(b, 2);
  }

  @Test
  void afterMigrationToDevice_theDevicePrivateEntriesMove_andFaultBackAtTheNewAddress()
      throws ErrnoException {
    for (int flags : new int[] {MOVE, MOVE | MREMAP_DONTUNMAP}) {
      long a = f.populated(4);
      long to = a + 64 * PAGE;
      MigrateTest.Pagemap pm = new MigrateTest.Pagemap();
      assertThat(f.proc.migrateToDevice(a, a + 4 * PAGE, pm)).isEqualTo(4);
      long dev = f.proc.pte(a + 2 * PAGE).pfn();
      MmFixture.Recorder rec = MmFixture.record(f.proc);

      f.proc.mremap(a, 4 * PAGE, 4 * PAGE, flags, to);

      assertThat(rec.events()).first().isEqualTo(ev(UNMAP, a, a + 4 * PAGE));
      PteView v = f.proc.pte(to + 2 * PAGE);
      assertThat(v.type()).isEqualTo(PteView.Type.DEVICE_PRIVATE);
      assertThat(v.pfn()).isEqualTo(dev);
      rec.clear();
      assertThat(f.proc.load(to + 2 * PAGE)).isEqualTo(3);
      assertThat(rec.events()).containsExactly(ev(MIGRATE, to + 2 * PAGE, to + 3 * PAGE, pm.owner));
      assertData(to, 4);
      assertThat(pm.freed).contains(dev);
      rec.sub().remove();
      f.proc.munmap(to, 4 * PAGE);
      f.proc.munmap(a, 4 * PAGE);
    }
    f.checker.assertClean();
  }

  @Test
  void beforeMigration_theMovedRangeMigratesAndComesBack() throws ErrnoException {
    long a = f.populated(4);
    long to = a + 64 * PAGE;
    f.proc.mremap(a, 4 * PAGE, 4 * PAGE, MOVE | MREMAP_DONTUNMAP, to);
    MigrateTest.Pagemap pm = new MigrateTest.Pagemap();

    assertThat(f.proc.migrateToDevice(to, to + 4 * PAGE, pm)).isEqualTo(4);

    assertData(to, 4);
  }

  @Test
  void swappedEntries_moveWithTheirSlots() throws ErrnoException {
    long a = f.populated(2);
    assertThat(f.proc.reclaim(a, a + 2 * PAGE)).isEqualTo(2);
    long to = a + 64 * PAGE;

    f.proc.mremap(a, 2 * PAGE, 2 * PAGE, MOVE, to);

    assertThat(f.proc.pte(to).type()).isEqualTo(PteView.Type.SWAP);
    assertData(to, 2);
  }

  @Test
  void aHugeMapping_movedWholeToAnAlignedTarget_staysHuge() throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, ANON_PRIVATE | MAP_HUGE);
    f.proc.store(a + PAGE, 7);
    long head = f.pfn(a);
    long to = a + 8 * HPAGE;
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.mremap(a, HPAGE, HPAGE, MOVE, to);

    assertThat(rec.events()).containsExactly(ev(UNMAP, a, a + HPAGE), ev(UNMAP, a, a + HPAGE));
    assertThat(f.proc.pte(to + 5 * PAGE).order()).isEqualTo(9);
    assertThat(f.pfn(to)).isEqualTo(head);
    assertThat(f.proc.load(to + PAGE)).isEqualTo(7);
  }

  @Test
  void aHugeMapping_movedToAnUnalignedTarget_isSplitFirst() throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, ANON_PRIVATE | MAP_HUGE);
    f.proc.store(a + PAGE, 7);
    long to = a + 8 * HPAGE + HPAGE / 4;
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.mremap(a, HPAGE, HPAGE, MOVE | MREMAP_DONTUNMAP, to);

    assertThat(rec.events()).containsExactly(ev(UNMAP, a, a + HPAGE), ev(CLEAR, a, a + HPAGE));
    assertThat(f.proc.pte(to + PAGE).order()).isZero();
    assertThat(f.proc.load(to + PAGE)).isEqualTo(7);
    assertThat(f.proc.load(a + PAGE)).isZero();
  }

  @Test
  void aThousandEntries_allMoveWithTheirOwnFrames() throws ErrnoException {
    int pages = 1000;
    long a = f.populated(pages);
    long[] pfns = new long[pages];
    for (int i = 0; i < pages; i++) {
      pfns[i] = f.pfn(a + i * PAGE);
    }
    long to = a + 4 * HPAGE + 5 * PAGE;

    f.proc.mremap(a, pages * PAGE, pages * PAGE, MOVE, to);

    for (int i = 0; i < pages; i++) {
      assertThat(f.pfn(to + i * PAGE)).as("page %d", i).isEqualTo(pfns[i]);
    }
    assertData(to, pages);
    f.checker.assertClean();
  }
}
