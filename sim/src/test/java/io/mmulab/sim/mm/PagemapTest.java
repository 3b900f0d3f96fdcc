package io.mmulab.sim.mm;

import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.HPAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.Mman.MAP_ANONYMOUS;
import static io.mmulab.sim.mm.Mman.MAP_HUGE;
import static io.mmulab.sim.mm.Mman.MAP_HUGETLB;
import static io.mmulab.sim.mm.Mman.MAP_MIXEDMAP;
import static io.mmulab.sim.mm.Mman.MAP_PFNMAP;
import static io.mmulab.sim.mm.Mman.MAP_PRIVATE;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static io.mmulab.sim.mm.Pagemap.PM_FILE;
import static io.mmulab.sim.mm.Pagemap.PM_MMAP_EXCLUSIVE;
import static io.mmulab.sim.mm.Pagemap.PM_PRESENT;
import static io.mmulab.sim.mm.Pagemap.PM_SWAP;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.sim.mem.PhysicalMemory;
import org.junit.jupiter.api.Test;

/** The pagemap view: Linux's bit layout for every kind of entry. */
class PagemapTest {
  private static final long FLAGS = ~Pagemap.PM_PFRAME_MASK;

  private final MmFixture f = new MmFixture();

  @Test
  void theLayoutIsLinuxs() {
    assertThat(PM_PRESENT).isEqualTo(0x8000_0000_0000_0000L);
    assertThat(PM_SWAP).isEqualTo(0x4000_0000_0000_0000L);
    assertThat(PM_FILE).isEqualTo(0x2000_0000_0000_0000L);
    assertThat(PM_MMAP_EXCLUSIVE).isEqualTo(0x0100_0000_0000_0000L);
    assertThat(Pagemap.PM_SOFT_DIRTY).isEqualTo(0x0080_0000_0000_0000L);
    assertThat(Pagemap.PM_PFRAME_MASK).isEqualTo(0x007f_ffff_ffff_ffffL);
  }

  @Test
  void nothingMapped_isZero() throws ErrnoException {
    long a = f.anon(2);
    assertThat(f.proc.pagemap(a)).isZero();
    assertThat(f.proc.pagemap(a + 64 * PAGE)).isZero();
  }

  @Test
  void anExclusiveAnonymousPage_isPresentExclusiveWithItsFrame() throws ErrnoException {
    long a = f.populated(1);

    long e = f.proc.pagemap(a + 8);

    assertThat(e & FLAGS).isEqualTo(PM_PRESENT | PM_MMAP_EXCLUSIVE);
    assertThat(Pagemap.pfn(e)).isEqualTo(f.pfn(a));
    assertThat(Pagemap.isPresent(e)).isTrue();
    assertThat(Pagemap.isSwapped(e)).isFalse();
  }

  @Test
  void theZeroPage_isPresentButNeitherExclusiveNorFile() throws ErrnoException {
    long a = f.anon(1);
    f.proc.load(a);

    assertThat(f.proc.pagemap(a)).isEqualTo(PM_PRESENT | PhysicalMemory.ZERO_PFN);
  }

  @Test
  void afterFork_aSharedAnonymousPageIsNotExclusive() throws ErrnoException {
    long a = f.populated(1);
    SimProcess child = f.proc.fork();

    assertThat(f.proc.pagemap(a) & FLAGS).isEqualTo(PM_PRESENT);
    child.exit();
  }

  @Test
  void filePagesAndSharedAnonymousPages_areFile() throws ErrnoException {
    long shm = f.proc.mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
    f.proc.store(shm, 1);
    SimFile file = f.machine.createFile("data", 1);
    long fa = f.proc.mmap(0, PAGE, PROT_READ, MAP_PRIVATE, file, 0);
    f.proc.load(fa);

    assertThat(f.proc.pagemap(shm) & FLAGS).isEqualTo(PM_PRESENT | PM_FILE | PM_MMAP_EXCLUSIVE);
    assertThat(f.proc.pagemap(fa) & FLAGS).isEqualTo(PM_PRESENT | PM_FILE | PM_MMAP_EXCLUSIVE);
  }

  @Test
  void aSwappedPage_isSwapTypeZeroWithItsSlot() throws ErrnoException {
    long a = f.populated(1);
    f.proc.reclaim(a, a + PAGE);

    long e = f.proc.pagemap(a);

    assertThat(e & FLAGS).isEqualTo(PM_SWAP);
    assertThat(Pagemap.swapType(e)).isZero();
    assertThat(Pagemap.swapOffset(e)).isPositive();
  }

  @Test
  void devicePrivatePages_areSwappedNotPresent_withTheDeviceFrame() throws ErrnoException {
    long a = f.proc.mmap(0, 2 * HPAGE, RW, ANON_PRIVATE);
    long b = (a + HPAGE - 1) & -HPAGE;
    for (int i = 0; i < 512; i++) {
      f.proc.store(b + i * PAGE, i);
    }
    f.proc.madvise(b, HPAGE, Madvise.COLLAPSE);
    f.proc.migrateToDevice(b, b + HPAGE, new MigrateTest.Pagemap());

    for (int i = 0; i < 512; i++) {
      long e = f.proc.pagemap(b + i * PAGE);
      assertThat(e & PM_SWAP).isNotZero();
      assertThat(Pagemap.isPresent(e)).isFalse();
      assertThat(Pagemap.swapType(e)).isEqualTo(Pagemap.SWP_DEVICE_WRITE);
      assertThat(Pagemap.swapOffset(e)).isEqualTo(f.pfn(b + i * PAGE));
    }
    f.proc.mprotect(b, HPAGE, PROT_READ);
    assertThat(Pagemap.swapType(f.proc.pagemap(b))).isEqualTo(Pagemap.SWP_DEVICE_READ);
  }

  @Test
  void aDeviceExclusivePage_isSwapped() throws ErrnoException {
    long a = f.populated(1);
    long[] pfns = f.proc.makeDeviceExclusive(a, a + PAGE, new Object());

    long e = f.proc.pagemap(a);

    assertThat(e & FLAGS).isEqualTo(PM_SWAP);
    assertThat(Pagemap.swapType(e)).isEqualTo(Pagemap.SWP_DEVICE_EXCLUSIVE);
    assertThat(Pagemap.swapOffset(e)).isEqualTo(pfns[0]);
  }

  @Test
  void rawMappings_pfnmapIsSkipped_mixedmapShowsTheFrame() throws ErrnoException {
    long pm = f.proc.mmap(0, PAGE, RW, MAP_SHARED | MAP_PFNMAP);
    f.proc.remapPfnRange(pm, 77, 1);
    long mm = f.proc.mmap(0, PAGE, RW, MAP_SHARED | MAP_MIXEDMAP);
    f.proc.vmInsertPfn(mm, 78);

    assertThat(f.proc.pagemap(pm)).isZero();
    assertThat(f.proc.pagemap(mm)).isEqualTo(PM_PRESENT | 78);
  }

  @Test
  void hugeMappings_showEachBaseFrame() throws ErrnoException {
    long t = f.proc.mmap(0, HPAGE, RW, ANON_PRIVATE | MAP_HUGE);
    f.proc.store(t, 1);
    f.machine.hugetlbPool(1, 0);
    long h = f.proc.mmap(0, HPAGE, RW, ANON_PRIVATE | MAP_HUGETLB);
    f.proc.store(h, 1);

    assertThat(f.proc.pagemap(t + 5 * PAGE))
        .isEqualTo(PM_PRESENT | PM_MMAP_EXCLUSIVE | (f.pfn(t) + 5));
    assertThat(f.proc.pagemap(h + 5 * PAGE))
        .isEqualTo(PM_PRESENT | PM_MMAP_EXCLUSIVE | (f.pfn(h) + 5));
  }
}
