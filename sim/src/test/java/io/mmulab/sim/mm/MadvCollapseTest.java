package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.HPAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_ANONYMOUS;
import static io.mmulab.sim.mm.Mman.MAP_HUGETLB;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.core.sync.RealSyncRuntime;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/** {@code MADV_COLLAPSE}, {@code MADV_HUGEPAGE} and {@code MADV_NOHUGEPAGE}. */
class MadvCollapseTest {
  private static final int PAGES = (int) (HPAGE / PAGE);

  private final MmFixture f = new MmFixture();

  /** Two blocks of plain anonymous memory; returns the aligned block inside. */
  private long block(MmFixture m) throws ErrnoException {
    long a = m.proc.mmap(0, 2 * HPAGE, RW, ANON_PRIVATE);
    return (a + HPAGE - 1) & -HPAGE;
  }

  private void fill(long b) throws ErrnoException {
    for (int i = 0; i < PAGES; i++) {
      f.proc.store(b + i * PAGE, i + 1);
    }
  }

  private static void assertErrno(Errno errno, ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(errno));
  }

  @Test
  void collapse_replacesTheBasePagesByAHugePage_insideClearOfTheBlock() throws ErrnoException {
    long b = block(f);
    fill(b);
    long oldPfn = f.pfn(b + 3 * PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.madvise(b, HPAGE, Madvise.COLLAPSE);

    assertThat(rec.events()).containsExactly(ev(CLEAR, b, b + HPAGE));
    long head = f.pfn(b);
    assertThat(head % PAGES).isZero();
    for (int i = 0; i < PAGES; i++) {
      PteView v = f.proc.pte(b + i * PAGE);
      assertThat(v.order()).isEqualTo(9);
      assertThat(v.pfn()).isEqualTo(head + i);
      assertThat(v.writable()).isTrue();
      assertThat(f.proc.load(b + i * PAGE)).isEqualTo(i + 1);
    }
    assertThat(f.memory.state(oldPfn)).isEqualTo(io.mmulab.sim.mem.FrameState.FREED);
    f.checker.assertClean();
  }

  @Test
  void collapse_takesEmptyAndZeroPages_asZeros() throws ErrnoException {
    long b = block(f);
    f.proc.store(b + 10 * PAGE, 7);
    assertThat(f.proc.load(b + 11 * PAGE)).isZero(); // the zero page

    f.proc.madvise(b, HPAGE, Madvise.COLLAPSE);

    assertThat(f.proc.pte(b + 11 * PAGE).order()).isEqualTo(9);
    assertThat(f.proc.pte(b + 11 * PAGE).type()).isEqualTo(PteView.Type.PRESENT);
    assertThat(f.proc.load(b + 10 * PAGE)).isEqualTo(7);
    assertThat(f.proc.load(b + 11 * PAGE)).isZero();
    assertThat(f.proc.load(b + 300 * PAGE)).isZero();
  }

  @Test
  void aRangeWithoutAWholeAlignedBlock_isDoneAtOnce() throws ErrnoException {
    long b = block(f);
    fill(b);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.madvise(b + PAGE, HPAGE - 2 * PAGE, Madvise.COLLAPSE);

    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.pte(b).order()).isZero();
  }

  @Test
  void anAlreadyHugeBlock_andTheHugeZeroPage_countAsCollapsed() throws ErrnoException {
    long b = block(f);
    f.proc.madvise(b, HPAGE, Madvise.HUGEPAGE);
    f.proc.load(b);
    assertThat(f.proc.isHugeZero(b)).isTrue();
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.madvise(b, HPAGE, Madvise.COLLAPSE);

    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.isHugeZero(b)).isTrue();
  }

  @Test
  void unsuitableBlocks_haveTheKernelsErrnos() throws ErrnoException {
    long b = block(f);
    assertErrno(Errno.EINVAL, () -> f.proc.madvise(b, HPAGE, Madvise.COLLAPSE)); // nothing

    f.proc.load(b);
    assertErrno(Errno.EINVAL, () -> f.proc.madvise(b, HPAGE, Madvise.COLLAPSE)); // read-only

    fill(b);
    assertThat(f.proc.reclaim(b + PAGE, b + 2 * PAGE)).isEqualTo(1);
    assertErrno(Errno.EINVAL, () -> f.proc.madvise(b, HPAGE, Madvise.COLLAPSE)); // swapped
    f.proc.load(b + PAGE);

    f.proc.migrateToDevice(b + 2 * PAGE, b + 3 * PAGE, new MigrateTest.Pagemap());
    assertErrno(Errno.EINVAL, () -> f.proc.madvise(b, HPAGE, Madvise.COLLAPSE)); // device
    f.proc.load(b + 2 * PAGE);

    f.memory.pin(f.pfn(b + 4 * PAGE));
    assertErrno(Errno.EAGAIN, () -> f.proc.madvise(b, HPAGE, Madvise.COLLAPSE)); // pinned
    f.memory.unpin(f.pfn(b + 4 * PAGE));

    SimProcess child = f.proc.fork();
    assertErrno(Errno.EAGAIN, () -> f.proc.madvise(b, HPAGE, Madvise.COLLAPSE)); // shared
    child.exit();
    f.proc.store(b, 1);
    f.proc.madvise(b, HPAGE, Madvise.COLLAPSE);
    assertThat(f.proc.pte(b).order()).isEqualTo(9);
  }

  @Test
  void ineligibleMappings_areEinval_andAGapIsEnomem() throws ErrnoException {
    long shared = f.proc.mmap(0, 2 * HPAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
    assertErrno(Errno.EINVAL, () -> f.proc.madvise(shared, 2 * HPAGE, Madvise.COLLAPSE));
    f.machine.hugetlbPool(1, 0);
    long tlb = f.proc.mmap(0, HPAGE, RW, ANON_PRIVATE | MAP_HUGETLB);
    assertErrno(Errno.EINVAL, () -> f.proc.madvise(tlb, HPAGE, Madvise.COLLAPSE));
    long b = block(f);
    fill(b);
    f.proc.madvise(b, HPAGE, Madvise.NOHUGEPAGE);
    assertErrno(Errno.EINVAL, () -> f.proc.madvise(b, HPAGE, Madvise.COLLAPSE));

    long c = block(f);
    fill(c);
    f.proc.munmap(c + HPAGE, PAGE);
    assertErrno(Errno.ENOMEM, () -> f.proc.madvise(c, HPAGE + 2 * PAGE, Madvise.COLLAPSE));
    assertThat(f.proc.pte(c).order()).as("the mapped part was collapsed").isEqualTo(9);
  }

  @Test
  void withoutRoomForAHugePage_collapseIsEnomem() throws ErrnoException {
    MmFixture small = new MmFixture(RealSyncRuntime.get(), 700);
    long b = block(small);
    for (int i = 0; i < PAGES; i++) {
      small.proc.store(b + i * PAGE, i);
    }

    assertThatThrownBy(() -> small.proc.madvise(b, HPAGE, Madvise.COLLAPSE))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOMEM));
    assertThat(small.proc.load(b + 5 * PAGE)).isEqualTo(5);
  }

  @Test
  void hugepage_splitsTheVma_firesNothing_andTheNextWriteFaultIsHuge() throws ErrnoException {
    long a = f.proc.mmap(0, 3 * HPAGE, RW, ANON_PRIVATE);
    long b = (a + HPAGE - 1) & -HPAGE;
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.madvise(b, HPAGE, Madvise.HUGEPAGE);

    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.vmas())
        .filteredOn(Vma::isHuge)
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.start()).isEqualTo(b);
              assertThat(v.end()).isEqualTo(b + HPAGE);
            });
    f.proc.store(b + PAGE, 1);
    assertThat(f.proc.pte(b).order()).isEqualTo(9);

    f.proc.madvise(b, HPAGE, Madvise.NOHUGEPAGE);
    f.proc.munmap(b, HPAGE);
    f.proc.mmap(b, HPAGE, RW, ANON_PRIVATE | Mman.MAP_FIXED);
    f.proc.madvise(b, HPAGE, Madvise.NOHUGEPAGE);
    f.proc.store(b, 1);
    assertThat(f.proc.pte(b).order()).isZero();
  }

  @Test
  void afterCollapse_theHugePageMigratesToTheDeviceAndBack() throws ErrnoException {
    long b = block(f);
    fill(b);
    f.proc.madvise(b, HPAGE, Madvise.COLLAPSE);
    MigrateTest.Pagemap pm = new MigrateTest.Pagemap();

    assertThat(f.proc.migrateToDevice(b, b + HPAGE, pm)).isEqualTo(PAGES);

    assertThat(f.proc.pte(b + 9 * PAGE).type()).isEqualTo(PteView.Type.DEVICE_PRIVATE);
    for (int i = 0; i < PAGES; i += 37) {
      assertThat(f.proc.load(b + i * PAGE)).isEqualTo(i + 1);
    }
  }

  @Test
  void aBlockWithoutAWritablePage_isEinval() throws ErrnoException {
    long b = block(f);
    fill(b);
    f.proc.mprotect(b, HPAGE, PROT_READ);

    assertErrno(Errno.EINVAL, () -> f.proc.madvise(b, HPAGE, Madvise.COLLAPSE));

    assertThat(f.proc.pte(b).order()).isZero();
  }
}
