package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.api.MmuNotifierEvent.PROTECTION_PAGE;
import static io.mmulab.api.MmuNotifierEvent.PROTECTION_VMA;
import static io.mmulab.api.MmuNotifierEvent.UNMAP;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;
import static io.mmulab.api.hmm.HmmPfnLayout.VALID;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.HPAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_FIXED;
import static io.mmulab.sim.mm.Mman.MAP_HUGE;
import static io.mmulab.sim.mm.Mman.MAP_HUGETLB;
import static io.mmulab.sim.mm.Mman.MAP_HUGE_1GB;
import static io.mmulab.sim.mm.Mman.MAP_HUGE_2MB;
import static io.mmulab.sim.mm.Mman.MAP_HUGE_SHIFT;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.MREMAP_DONTUNMAP;
import static io.mmulab.sim.mm.Mman.MREMAP_FIXED;
import static io.mmulab.sim.mm.Mman.MREMAP_MAYMOVE;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.core.sync.RealSyncRuntime;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Hugetlb mappings: the pool, reservations, whole-page faults and copies, and their level. */
class HugetlbTest {
  private static final HmmPfnLayout L = HmmPfnLayout.MAINLINE;
  private static final int PMD = 9;
  private static final int PUD = 18;
  private static final int HUGETLB = ANON_PRIVATE | MAP_HUGETLB;

  private final MmFixture f = new MmFixture();

  @BeforeEach
  void pool() throws ErrnoException {
    f.machine.hugetlbPool(2, 0);
  }

  private static void assertErrno(Errno errno, ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(errno));
  }

  @Test
  void mmap_reservesPoolPages_andFailsWithEnomemWhenThePoolIsTooSmall() throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE / 2, RW, HUGETLB);

    assertThat(a % HPAGE).isZero();
    assertThat(f.proc.vmas())
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.end() - v.start()).isEqualTo(HPAGE);
              assertThat(v.isHugetlb()).isTrue();
              assertThat(v.hugetlbOrder()).isEqualTo(PMD);
              assertThat(v.isAnonymous()).isFalse();
            });
    assertThat(f.machine.hugetlbReservedPages(PMD)).isEqualTo(1);
    assertThat(f.machine.hugetlbFreePages(PMD)).isEqualTo(2);
    assertErrno(Errno.ENOMEM, () -> f.proc.mmap(0, 2 * HPAGE, RW, HUGETLB));
    assertErrno(Errno.ENOMEM, () -> f.proc.mmap(0, 1L << 30, RW, HUGETLB | MAP_HUGE_1GB));
    assertThat(f.proc.vmas()).hasSize(1);

    f.proc.munmap(a, HPAGE);

    assertThat(f.machine.hugetlbReservedPages(PMD)).isZero();
  }

  @Test
  void badFlags_areEinval() {
    assertErrno(Errno.EINVAL, () -> f.proc.mmap(0, HPAGE, RW, ANON_PRIVATE | MAP_HUGE_2MB));
    assertErrno(Errno.EINVAL, () -> f.proc.mmap(0, HPAGE, RW, HUGETLB | 16 << MAP_HUGE_SHIFT));
    assertErrno(
        Errno.EINVAL,
        () -> f.proc.mmap(0, HPAGE, RW, MAP_SHARED | Mman.MAP_ANONYMOUS | MAP_HUGETLB));
    assertErrno(Errno.EINVAL, () -> f.proc.mmap(0, HPAGE, RW, HUGETLB | MAP_HUGE));
    assertErrno(
        Errno.EINVAL, () -> f.proc.mmap(0x4000_0000L + PAGE, HPAGE, RW, HUGETLB | MAP_FIXED));
  }

  @Test
  void aWriteFault_mapsTheWholePage_writable_atPmdLevel() throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, HUGETLB | MAP_HUGE_2MB);

    f.proc.store(a + 100 * PAGE, 5);

    long head = f.pfn(a);
    assertThat(head % 512).isZero();
    for (int i = 0; i < 512; i++) {
      PteView v = f.proc.pte(a + i * PAGE);
      assertThat(v.order()).isEqualTo(PMD);
      assertThat(v.pageShift()).isEqualTo(21);
      assertThat(v.pfn()).isEqualTo(head + i);
      assertThat(v.writable()).isTrue();
    }
    assertThat(f.proc.load(a + 100 * PAGE)).isEqualTo(5);
    assertThat(f.machine.hugetlbReservedPages(PMD)).isZero();
    assertThat(f.machine.hugetlbFreePages(PMD)).isEqualTo(1);
  }

  @Test
  void aReadFault_mapsItReadOnly_andAWriteReusesItWithoutInvalidation() throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, HUGETLB);
    assertThat(f.proc.load(a + 3 * PAGE)).isZero();
    long head = f.pfn(a);
    assertThat(f.proc.pte(a + 7 * PAGE).writable()).isFalse();
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.store(a + 7 * PAGE, 1);

    assertThat(rec.events()).isEmpty();
    assertThat(f.pfn(a)).isEqualTo(head);
    assertThat(f.proc.pte(a + 511 * PAGE).writable()).isTrue();
  }

  @Test
  void hmmSnapshot_reportsPmdLevel_writableThenReadOnlyAfterMprotect() throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, HUGETLB);
    for (int i = 0; i < 512; i++) {
      f.proc.store(a + i * PAGE, i);
    }
    long head = f.pfn(a);

    long[] out = MmFixture.hmmSnapshot(f.proc, a, HPAGE, 0);
    for (int i = 0; i < 512; i++) {
      assertThat(out[i] & (VALID | WRITE)).isEqualTo(VALID | WRITE);
      assertThat(L.order(out[i])).isEqualTo(PMD);
      assertThat(L.pfn(out[i])).isEqualTo(head + i);
    }

    MmFixture.Recorder rec = MmFixture.record(f.proc);
    f.proc.mprotect(a, HPAGE, PROT_READ);
    assertThat(rec.events()).containsExactly(ev(PROTECTION_VMA, a, a + HPAGE));
    out = MmFixture.hmmSnapshot(f.proc, a, HPAGE, 0);
    for (int i = 0; i < 512; i++) {
      assertThat(out[i] & (VALID | WRITE)).isEqualTo(VALID);
      assertThat(L.order(out[i])).isEqualTo(PMD);
    }
  }

  @Test
  void hmmWriteFault_faultsTheWholePageIn() throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, HUGETLB);

    long[] out = MmFixture.hmmSnapshot(f.proc, a + 8 * PAGE, 4 * PAGE, REQ_FAULT | REQ_WRITE);

    assertThat(L.order(out[0])).isEqualTo(PMD);
    assertThat(out[3] & (VALID | WRITE)).isEqualTo(VALID | WRITE);
    assertThat(f.proc.pte(a).order()).isEqualTo(PMD);
  }

  @Test
  void cutsInsideAPage_areEinval_andMadvFreeToo() throws ErrnoException {
    long a = f.proc.mmap(0, 2 * HPAGE, RW, HUGETLB);
    f.proc.store(a, 1);

    assertErrno(Errno.EINVAL, () -> f.proc.munmap(a, PAGE));
    assertErrno(Errno.EINVAL, () -> f.proc.munmap(a + PAGE, HPAGE));
    assertErrno(Errno.EINVAL, () -> f.proc.mprotect(a, HPAGE + PAGE, PROT_READ));
    assertErrno(Errno.EINVAL, () -> f.proc.madvise(a + PAGE, PAGE, Madvise.DONTNEED));
    assertErrno(Errno.EINVAL, () -> f.proc.madvise(a, HPAGE, Madvise.FREE));
    assertThat(f.proc.load(a)).isEqualTo(1);
    assertThat(f.proc.pte(a + PAGE).order()).isEqualTo(PMD);
  }

  @Test
  void dontneed_dropsWholePages_andRoundsTheEndDown() throws ErrnoException {
    long a = f.proc.mmap(0, 2 * HPAGE, RW, HUGETLB);
    f.proc.store(a, 1);
    f.proc.store(a + HPAGE, 2);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.madvise(a, HPAGE + PAGE, Madvise.DONTNEED);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + HPAGE));
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.NONE);
    assertThat(f.proc.load(a + HPAGE)).isEqualTo(2);
    assertThat(f.machine.hugetlbFreePages(PMD)).isEqualTo(1);
  }

  @Test
  void munmap_returnsThePageToThePool() throws ErrnoException {
    long a = f.proc.mmap(0, 2 * HPAGE, RW, HUGETLB);
    f.proc.store(a, 1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.munmap(a, 2 * HPAGE);

    assertThat(rec.events()).containsExactly(ev(UNMAP, a, a + 2 * HPAGE));
    assertThat(f.machine.hugetlbFreePages(PMD)).isEqualTo(2);
    assertThat(f.machine.hugetlbReservedPages(PMD)).isZero();
    long b = f.proc.mmap(0, HPAGE, RW, HUGETLB);
    assertThat(f.proc.load(b)).as("a reused page is zeroed").isZero();
  }

  @Test
  void cowAfterFork_copiesTheWholePage_neverSplits() throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, HUGETLB);
    f.proc.store(a, 1);
    long head = f.pfn(a);
    MmFixture.Recorder parentRec = MmFixture.record(f.proc);
    SimProcess child = f.proc.fork();
    assertThat(parentRec.events()).containsExactly(ev(PROTECTION_PAGE, a, a + HPAGE));
    MmFixture.Recorder rec = MmFixture.record(child);

    child.store(a + 9 * PAGE, 2);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + HPAGE));
    assertThat(child.pte(a).pfn()).isNotEqualTo(head);
    assertThat(child.pte(a + 9 * PAGE).order()).isEqualTo(PMD);
    assertThat(child.load(a)).isEqualTo(1);
    assertThat(f.proc.load(a + 9 * PAGE)).isZero();
    assertThat(f.machine.hugetlbFreePages(PMD)).isZero();

    child.exit();
    f.proc.store(a + 9 * PAGE, 3);
    assertThat(f.pfn(a)).as("the parent reuses its page").isEqualTo(head);
    assertThat(f.machine.hugetlbFreePages(PMD)).isEqualTo(1);
  }

  @Test
  void migrationIsEinval_reclaimSkipsIt() throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, HUGETLB);
    f.proc.store(a, 1);

    assertErrno(Errno.EINVAL, () -> f.proc.migrateToDevice(a, a + PAGE, new MigrateTest.Pagemap()));
    assertThat(f.proc.reclaim(a, a + HPAGE)).isZero();
    assertThat(f.proc.pte(a).order()).isEqualTo(PMD);
  }

  @Test
  void mremap_movesWholePages_refusesCutsGrowthAndDontunmap() throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, HUGETLB);
    f.proc.store(a, 1);
    long to = a + 16 * HPAGE;
    int move = MREMAP_MAYMOVE | MREMAP_FIXED;

    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, HPAGE, HPAGE, move, to + PAGE));
    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, HPAGE, 2 * HPAGE, MREMAP_MAYMOVE, 0));
    assertErrno(Errno.EINVAL, () -> f.proc.mremap(a, HPAGE, HPAGE, move | MREMAP_DONTUNMAP, to));

    assertThat(f.proc.mremap(a, HPAGE, HPAGE, move, to)).isEqualTo(to);

    assertThat(f.proc.pte(to + PAGE).order()).isEqualTo(PMD);
    assertThat(f.proc.load(to)).isEqualTo(1);
    f.proc.munmap(to, HPAGE);
    assertThat(f.machine.hugetlbFreePages(PMD)).isEqualTo(2);
  }

  @Test
  void aGigabytePage_isOneRunOf262144Frames_reportedAtPudLevel() throws ErrnoException {
    MmFixture big = new MmFixture(RealSyncRuntime.get(), (1 << 19) + 1024);
    big.machine.hugetlbPool(0, 1);
    long a = big.proc.mmap(0, 1L << 30, RW, HUGETLB | MAP_HUGE_1GB);
    assertThat(a & ((1L << 30) - 1)).isZero();
    assertThat(big.machine.hugetlbReservedPages(PUD)).isEqualTo(1);

    big.proc.store(a + (1L << 29), 9);

    PteView first = big.proc.pte(a);
    assertThat(first.order()).isEqualTo(PUD);
    assertThat(first.pageShift()).isEqualTo(30);
    assertThat(first.pfn() % (1 << PUD)).isZero();
    assertThat(big.proc.pte(a + (1L << 30) - PAGE).pfn()).isEqualTo(first.pfn() + (1 << PUD) - 1);
    long[] out = MmFixture.hmmSnapshot(big.proc, a + (1L << 29), 2 * PAGE, 0);
    assertThat(L.order(out[0])).isEqualTo(PUD);
    assertThat(out[1] & (VALID | WRITE)).isEqualTo(VALID | WRITE);
    assertThat(big.proc.load(a + (1L << 29))).isEqualTo(9);

    big.proc.munmap(a, 1L << 30);
    assertThat(big.machine.hugetlbFreePages(PUD)).isEqualTo(1);
  }
}
