package io.mmulab.testkit.dmirror;

import static io.mmulab.sim.mm.Mman.MAP_ANONYMOUS;
import static io.mmulab.sim.mm.Mman.MAP_PRIVATE;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_NONE;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static io.mmulab.sim.mm.Mman.PROT_WRITE;
import static io.mmulab.testkit.dmirror.DmirrorReadWriteTest.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.sim.mm.Madvise;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.Pagemap;
import io.mmulab.sim.mm.SimFile;
import io.mmulab.sim.mm.SimProcess;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The kernel's HMM selftests ({@code tools/testing/selftests/mm/hmm-tests.c}, Linux 6.19 with the
 * device THP migration tests) ported one for one: each method is one kernel test, named as the
 * kernel names it, run in both fixture variants ({@link Variant}): device-private memory (devices 0
 * and 1) and device-coherent memory (devices 2 and 3). Command results, counters, error codes and
 * permission bytes are the kernel's expected values.
 *
 * <p>One adaptation throughout: the kernel fills buffers with 4-byte ints, {@code ptr[i] = i}; the
 * simulated CPU stores 8-byte words, so here word {@code i} holds {@code i}, and only the first and
 * the last word of every page are written and checked (a page moves as a whole, so these two stand
 * for its contents; writing all 512 words of thousands of pages would only slow the suite down).
 */
class HmmSelftestsTest {
  private static final long PAGE = DmirrorFixture.PAGE;
  private static final int WORDS = DmirrorFixture.WORDS;
  private static final long PMD_SIZE = DmirrorFixture.HPAGE;
  private static final int PMD_PAGES = (int) (PMD_SIZE / PAGE);

  /** {@code HMM_BUFFER_SIZE} (4 MiB) in pages. */
  private static final int HMM_BUFFER_PAGES = 1024;

  private static final int NTIMES = 10;
  private static final int RW = PROT_READ | PROT_WRITE;
  private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;

  /** The kernel's fixture variants: {@code hmm_device_private} and {@code hmm_device_coherent}. */
  enum Variant {
    DEVICE_PRIVATE(0, 1),
    DEVICE_COHERENT(2, 3);

    final int device0;
    final int device1;

    Variant(int device0, int device1) {
      this.device0 = device0;
      this.device1 = device1;
    }

    boolean coherent() {
      return this == DEVICE_COHERENT;
    }

    @Override
    public String toString() {
      return coherent() ? "hmm_device_coherent" : "hmm_device_private";
    }
  }

  /** A kernel test's fixture: the machine, {@code self->fd} ({@link #m}) and, for hmm2, fd1. */
  private static final class Hmm implements AutoCloseable {
    final DmirrorFixture f;
    final SimProcess p;
    final DmirrorMirror m;
    final DmirrorMirror m1;

    Hmm(Variant variant) throws ErrnoException {
      this.f = new DmirrorFixture(DriverVariant.CONSOLIDATED);
      this.p = f.proc;
      this.m = f.open(p, variant.device0);
      this.m1 = f.open(p, variant.device1);
    }

    long mmap(long length, int prot, int flags) throws ErrnoException {
      return p.mmap(0, length, prot, flags);
    }

    /**
     * {@code map = ALIGN(ptr, PMD_SIZE)} inside a fresh private anonymous mapping of {@code 2 *
     * PMD_SIZE}, then {@code madvise(map, PMD_SIZE, hint)} unless {@code hint} is null.
     */
    long alignedPmd(int prot, Madvise hint) throws ErrnoException {
      return pmdAligned(mmap(2 * PMD_SIZE, prot, ANON), hint);
    }

    long pmdAligned(long raw, Madvise hint) throws ErrnoException {
      long map = (raw + PMD_SIZE - 1) & -PMD_SIZE;
      if (hint != null) {
        p.madvise(map, PMD_SIZE, hint);
      }
      return map;
    }

    /** Writes word {@code i} = {@code i + base} at the first and last word of every page. */
    void fill(SimProcess proc, long a, int pages, long base) throws ErrnoException {
      for (int pg = 0; pg < pages; pg++) {
        for (int w : new int[] {pg * WORDS, pg * WORDS + WORDS - 1}) {
          proc.store(a + 8L * w, w + base);
        }
      }
    }

    void fill(long a, int pages) throws ErrnoException {
      fill(p, a, pages, 0);
    }

    void checkCpu(SimProcess proc, long a, int fromPage, int toPage, long base)
        throws ErrnoException {
      for (int pg = fromPage; pg < toPage; pg++) {
        for (int w : new int[] {pg * WORDS, pg * WORDS + WORDS - 1}) {
          assertThat(proc.load(a + 8L * w)).as("word %d", w).isEqualTo(w + base);
        }
      }
    }

    void checkCpu(long a, int pages) throws ErrnoException {
      checkCpu(p, a, 0, pages, 0);
    }

    static void checkMirror(DmirrorCmd c, int fromPage, int toPage, long base) {
      for (int pg = fromPage; pg < toPage; pg++) {
        for (int w : new int[] {pg * WORDS, pg * WORDS + WORDS - 1}) {
          assertThat(c.word(w)).as("mirror word %d", w).isEqualTo(w + base);
        }
      }
    }

    static void checkMirrorZero(DmirrorCmd c, int pages) {
      for (int pg = 0; pg < pages; pg++) {
        assertThat(c.word(pg * WORDS)).isZero();
        assertThat(c.word(pg * WORDS + WORDS - 1)).isZero();
      }
    }

    /** A command block whose buffer holds {@code -i} at the sampled words (the kernel's mirror). */
    static DmirrorCmd negated(long addr, int npages) {
      DmirrorCmd c = DmirrorCmd.withPages(addr, npages);
      for (int pg = 0; pg < npages; pg++) {
        c.setWord(pg * WORDS, -(long) pg * WORDS);
        c.setWord(pg * WORDS + WORDS - 1, -((long) pg * WORDS + WORDS - 1));
      }
      return c;
    }

    static DmirrorCmd run(DmirrorMirror mirror, DmirrorCommand c, long addr, int npages)
        throws ErrnoException {
      return DmirrorFixture.run(mirror, c, addr, npages);
    }

    static DmirrorCmd run(DmirrorMirror mirror, DmirrorCommand c, DmirrorCmd cmd)
        throws ErrnoException {
      mirror.ioctl(c, cmd);
      return cmd;
    }

    /**
     * {@code mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)} of one default-size (2 MiB) huge
     * page, after the kernel test's {@code HUGETLB_SETUP_DEFAULT_PAGES(1)}.
     */
    long hugetlb() throws ErrnoException {
      f.machine.hugetlbPool(1, 0);
      return mmap(PMD_SIZE, RW, ANON | Mman.MAP_HUGETLB);
    }

    void failAllocOnce() throws ErrnoException {
      m.ioctl(DmirrorCommand.FLAGS, new DmirrorCmd(PAGE, DmirrorProt.FLAG_FAIL_ALLOC, null));
    }

    @Override
    public void close() {
      f.close();
    }
  }

  // -----------------------------------------------------------------------------------------------
  // The tests, in the kernel's order

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void open_close(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      assertThat(h.m.isClosed()).isFalse();
      assertThat(h.m.device().memoryType())
          .isEqualTo(
              v.coherent()
                  ? DmirrorProt.MEMORY_DEVICE_COHERENT
                  : DmirrorProt.MEMORY_DEVICE_PRIVATE);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void anon_read(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(h.p, a + 2 * PAGE, npages - 2, 2L * WORDS); // pages 0 and 1 stay untouched
      h.p.mprotect(a, npages * PAGE, PROT_READ);
      assertThat(h.p.load(a + PAGE)).isZero(); // the zero page
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.READ, a, npages);
      assertThat(c.cpages()).isEqualTo(npages);
      assertThat(c.faults()).isEqualTo(1);
      Hmm.checkMirrorZero(c, 2);
      Hmm.checkMirror(c, 2, npages, 0);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void anon_read_prot(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(a, npages);
      DmirrorCmd c = Hmm.negated(a, npages);
      h.p.mprotect(a, npages * PAGE, PROT_NONE);
      assertErrno(() -> h.m.ioctl(DmirrorCommand.READ, c), Errno.EFAULT);
      h.p.mprotect(a, npages * PAGE, PROT_READ);
      h.checkCpu(a, npages);
      for (int pg = 0; pg < npages; pg++) { // still -i: nothing was copied
        assertThat(c.word(pg * WORDS + WORDS - 1)).isEqualTo(-((long) pg * WORDS + WORDS - 1));
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void anon_write(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, ANON);
      DmirrorCmd c = DmirrorCmd.withPages(a, npages);
      fillMirror(c, npages);
      Hmm.run(h.m, DmirrorCommand.WRITE, c);
      assertThat(c.cpages()).isEqualTo(npages);
      assertThat(c.faults()).isEqualTo(1);
      h.checkCpu(a, npages);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void anon_write_prot(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, PROT_READ, ANON);
      DmirrorCmd r = Hmm.run(h.m, DmirrorCommand.READ, a, 1);
      assertThat(r.cpages()).isEqualTo(1);
      assertThat(r.faults()).isEqualTo(1);
      DmirrorCmd c = DmirrorCmd.withPages(a, npages);
      fillMirror(c, npages);
      assertErrno(() -> h.m.ioctl(DmirrorCommand.WRITE, c), Errno.EPERM);
      for (int pg = 0; pg < npages; pg++) {
        assertThat(h.p.load(a + pg * PAGE)).isZero();
      }
      h.p.mprotect(a, npages * PAGE, RW);
      Hmm.run(h.m, DmirrorCommand.WRITE, c);
      assertThat(c.cpages()).isEqualTo(npages);
      assertThat(c.faults()).isEqualTo(1);
      h.checkCpu(a, npages);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void anon_write_child(Variant v) throws Exception {
    for (int migrate = 0; migrate < 2; migrate++) {
      for (int useThp = 0; useThp < 2; useThp++) {
        try (Hmm h = new Hmm(v)) {
          int npages = useThp == 1 ? PMD_PAGES : HMM_BUFFER_PAGES;
          long a =
              useThp == 1
                  ? h.alignedPmd(RW, Madvise.HUGEPAGE)
                  : h.mmap(2L * npages * PAGE, RW, ANON);
          h.fill(a, npages);
          DmirrorCmd c = Hmm.negated(a, npages);
          if (migrate == 1) {
            DmirrorCmd mc = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
            assertThat(mc.cpages()).isEqualTo(npages);
          }
          SimProcess child = h.p.fork();
          // The child sees the parent's values and opens its own mirror (always device 0).
          h.checkCpu(child, a, 0, npages, 0);
          DmirrorMirror cm = h.f.open(child, 0);
          Hmm.run(cm, DmirrorCommand.WRITE, c);
          assertThat(c.cpages()).isEqualTo(npages);
          assertThat(c.faults()).isEqualTo(1);
          if (migrate == 0) {
            checkNegated(child, a, npages);
          }
          cm.close();
          child.exit();
          h.checkCpu(a, npages); // the parent's buffer did not change
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void anon_write_child_shared(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
      h.fill(a, npages);
      DmirrorCmd c = Hmm.negated(a, npages);
      SimProcess child = h.p.fork();
      h.checkCpu(child, a, 0, npages, 0);
      DmirrorMirror cm = h.f.open(child, 0);
      Hmm.run(cm, DmirrorCommand.WRITE, c);
      assertThat(c.cpages()).isEqualTo(npages);
      assertThat(c.faults()).isEqualTo(1);
      checkNegated(child, a, npages);
      cm.close();
      child.exit();
      checkNegated(h.p, a, npages); // the parent's buffer did change
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void anon_write_huge(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long a = h.alignedPmd(RW, Madvise.HUGEPAGE);
      DmirrorCmd c = DmirrorCmd.withPages(a, PMD_PAGES);
      fillMirror(c, PMD_PAGES);
      Hmm.run(h.m, DmirrorCommand.WRITE, c);
      assertThat(c.cpages()).isEqualTo(PMD_PAGES);
      assertThat(c.faults()).isEqualTo(1);
      h.checkCpu(a, PMD_PAGES);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void anon_write_hugetlbfs(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long a = h.hugetlb();
      DmirrorCmd c = DmirrorCmd.withPages(a, PMD_PAGES);
      fillMirror(c, PMD_PAGES);
      Hmm.run(h.m, DmirrorCommand.WRITE, c);
      assertThat(c.cpages()).isEqualTo(PMD_PAGES);
      assertThat(c.faults()).isEqualTo(1);
      h.checkCpu(a, PMD_PAGES);
      h.p.munmap(a, PMD_SIZE);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void file_read(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      SimFile file = h.f.machine.createFile("hmm-file", npages);
      for (int pg = 0; pg < npages; pg++) {
        for (int w : new int[] {pg * WORDS, pg * WORDS + WORDS - 1}) {
          file.writeLong(8L * w, w);
        }
      }
      long a = h.p.mmap(0, npages * PAGE, PROT_READ, MAP_SHARED, file, 0);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.READ, a, npages);
      assertThat(c.cpages()).isEqualTo(npages);
      assertThat(c.faults()).isEqualTo(1);
      Hmm.checkMirror(c, 0, npages, 0);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void file_write(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      SimFile file = h.f.machine.createFile("hmm-file", npages);
      long a = h.p.mmap(0, npages * PAGE, RW, MAP_SHARED, file, 0);
      DmirrorCmd c = DmirrorCmd.withPages(a, npages);
      fillMirror(c, npages);
      Hmm.run(h.m, DmirrorCommand.WRITE, c);
      assertThat(c.cpages()).isEqualTo(npages);
      assertThat(c.faults()).isEqualTo(1);
      h.checkCpu(a, npages);
      for (int pg = 0; pg < npages; pg++) {
        int w = pg * WORDS + WORDS - 1;
        assertThat(file.readLong(8L * w)).isEqualTo(w); // the device also wrote the file
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(a, npages);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
      assertThat(c.cpages()).isEqualTo(npages);
      Hmm.checkMirror(c, 0, npages, 0);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_file_private(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      SimFile file = h.f.machine.createFile("hmm-file", npages);
      long a = h.p.mmap(0, npages * PAGE, RW, MAP_PRIVATE, file, 0);
      h.fill(a, npages); // every page becomes a private copy
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
      assertThat(c.cpages()).isEqualTo(npages);
      Hmm.checkMirror(c, 0, npages, 0);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_fault(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(a, npages);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
      assertThat(c.cpages()).isEqualTo(npages);
      Hmm.checkMirror(c, 0, npages, 0);
      h.checkCpu(h.p, a, 0, npages / 2, 0); // fault half the pages back
      DmirrorCmd again = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
      assertThat(again.cpages()).isEqualTo(npages);
      Hmm.checkMirror(again, 0, npages, 0);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_release(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(a, npages);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
      assertThat(c.cpages()).isEqualTo(npages);
      Hmm.checkMirror(c, 0, npages, 0);
      Hmm.run(h.m, DmirrorCommand.RELEASE, a, npages);
      h.checkCpu(h.p, a, 0, npages / 2, 0);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_shared(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
      assertErrno(() -> Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages), Errno.ENOENT);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_mixed(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long p = h.mmap(6 * PAGE, PROT_NONE, ANON);
      assertErrno(() -> Hmm.run(h.m1, DmirrorCommand.MIGRATE_TO_DEV, p, 6), Errno.EINVAL);
      h.p.munmap(p + PAGE, PAGE);
      assertErrno(() -> Hmm.run(h.m1, DmirrorCommand.MIGRATE_TO_DEV, p, 3), Errno.EINVAL);
      h.p.mprotect(p + 2 * PAGE, PAGE, PROT_READ);
      long val = h.p.load(p + 2 * PAGE) + 3;
      assertThat(val).isEqualTo(3);
      h.p.mprotect(p + 3 * PAGE, PAGE, RW);
      h.p.store(p + 3 * PAGE, val);
      h.p.mprotect(p + 3 * PAGE, PAGE, PROT_READ);
      h.p.mprotect(p + 4 * PAGE, 2 * PAGE, RW);
      h.p.store(p + 4 * PAGE, val);
      h.p.store(p + 5 * PAGE, val);
      DmirrorCmd c = Hmm.run(h.m1, DmirrorCommand.MIGRATE_TO_DEV, p + 2 * PAGE, 4);
      assertThat(c.cpages()).isEqualTo(4);
      // Page 5 is not migrated to device 0 because it is on device 1.
      assertErrno(() -> Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, p + 5 * PAGE, 1), Errno.ENOENT);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_multiple(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      for (int c = 0; c < NTIMES; c++) {
        long a = h.mmap(npages * PAGE, RW, ANON);
        h.fill(a, npages);
        DmirrorCmd mc = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
        assertThat(mc.cpages()).isEqualTo(npages);
        Hmm.checkMirror(mc, 0, npages, 0);
        if (v.coherent()) {
          // Coherent pages never fault: they are migrated back explicitly.
          DmirrorCmd back = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_SYS, a, npages);
          assertThat(back.cpages()).isEqualTo(npages);
        }
        h.checkCpu(a, npages);
        h.p.munmap(a, npages * PAGE);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void anon_read_multiple(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      for (int c = 0; c < NTIMES; c++) {
        long a = h.mmap(npages * PAGE, RW, ANON);
        h.fill(h.p, a, npages, c);
        DmirrorCmd r = Hmm.run(h.m, DmirrorCommand.READ, a, npages);
        assertThat(r.cpages()).isEqualTo(npages);
        assertThat(r.faults()).isEqualTo(1);
        Hmm.checkMirror(r, 0, npages, c);
        h.p.munmap(a, npages * PAGE);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void anon_teardown(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long size = npages * PAGE;
      for (int c = 0; c < NTIMES; c++) {
        long a = h.mmap(size, RW, ANON);
        h.fill(h.p, a, npages, c);
        AtomicReference<Throwable> unmapFailure = new AtomicReference<>();
        Thread unmapper =
            new Thread(
                () -> {
                  try {
                    Thread.sleep(0, ThreadLocalRandom.current().nextInt(32_000));
                    h.p.munmap(a + size / 2, size / 2);
                  } catch (Throwable t) {
                    unmapFailure.set(t);
                  }
                });
        unmapper.start();
        DmirrorCmd r = DmirrorCmd.withPages(a, npages);
        boolean ok;
        try {
          h.m.ioctl(DmirrorCommand.READ, r);
          ok = true;
        } catch (ErrnoException e) {
          assertThat(e.errno()).isEqualTo(Errno.EFAULT);
          ok = false;
        }
        if (ok) {
          assertThat(r.cpages()).isEqualTo(npages);
          assertThat(r.faults()).isEqualTo(1);
          Hmm.checkMirror(r, 0, npages, c);
        }
        unmapper.join();
        assertThat(unmapFailure.get()).isNull();
        h.p.munmap(a, size / 2);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void mixedmap(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long a = h.m.mmap(0, PAGE, RW, MAP_PRIVATE);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.SNAPSHOT, a, 1);
      assertThat(c.cpages()).isEqualTo(1);
      assertThat(c.perm(0)).isEqualTo(DmirrorProt.READ);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void snapshot(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = 7;
      long p = h.mmap(npages * PAGE, PROT_NONE, ANON);
      h.p.munmap(p + PAGE, PAGE);
      h.p.mprotect(p + 2 * PAGE, PAGE, PROT_READ);
      long val = h.p.load(p + 2 * PAGE) + 3;
      assertThat(val).isEqualTo(3);
      h.p.mprotect(p + 3 * PAGE, PAGE, RW);
      h.p.store(p + 3 * PAGE, val);
      h.p.mprotect(p + 3 * PAGE, PAGE, PROT_READ);
      h.p.mprotect(p + 4 * PAGE, 3 * PAGE, RW);
      h.p.store(p + 4 * PAGE, val);
      assertThat(Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, p + 5 * PAGE, 1).cpages())
          .isEqualTo(1);
      assertThat(Hmm.run(h.m1, DmirrorCommand.MIGRATE_TO_DEV, p + 6 * PAGE, 1).cpages())
          .isEqualTo(1);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.SNAPSHOT, p, npages);
      assertThat(c.cpages()).isEqualTo(npages);
      assertThat(c.perm(0)).isEqualTo(DmirrorProt.ERROR);
      assertThat(c.perm(1)).isEqualTo(DmirrorProt.ERROR);
      assertThat(c.perm(2)).isEqualTo(DmirrorProt.ZERO | DmirrorProt.READ);
      assertThat(c.perm(3)).isEqualTo(DmirrorProt.READ);
      assertThat(c.perm(4)).isEqualTo(DmirrorProt.WRITE);
      if (!v.coherent()) {
        assertThat(c.perm(5)).isEqualTo(DmirrorProt.DEV_PRIVATE_LOCAL | DmirrorProt.WRITE);
        assertThat(c.perm(6)).isEqualTo(DmirrorProt.NONE);
      } else {
        assertThat(c.perm(5)).isEqualTo(DmirrorProt.DEV_COHERENT_LOCAL | DmirrorProt.WRITE);
        assertThat(c.perm(6)).isEqualTo(DmirrorProt.DEV_COHERENT_REMOTE | DmirrorProt.WRITE);
      }
    }
  }

  /**
   * The kernel reads the level off the first byte (PUD with a 1 GiB default huge page size); the
   * default size here is 2 MiB, so every byte carries the PMD bit.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void compound(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long a = h.hugetlb();
      h.fill(a, PMD_PAGES);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.SNAPSHOT, a, PMD_PAGES);
      assertThat(c.cpages()).isEqualTo(PMD_PAGES);
      int level = (c.perm(0) & DmirrorProt.PUD) != 0 ? DmirrorProt.PUD : DmirrorProt.PMD;
      assertThat(level).isEqualTo(DmirrorProt.PMD);
      for (int i = 0; i < PMD_PAGES; i++) {
        assertThat(c.perm(i)).as("page %d", i).isEqualTo(DmirrorProt.WRITE | level);
      }
      h.p.mprotect(a, PMD_SIZE, PROT_READ);
      c = Hmm.run(h.m, DmirrorCommand.SNAPSHOT, a, PMD_PAGES);
      assertThat(c.cpages()).isEqualTo(PMD_PAGES);
      for (int i = 0; i < PMD_PAGES; i++) {
        assertThat(c.perm(i)).as("page %d", i).isEqualTo(DmirrorProt.READ | level);
      }
      h.p.munmap(a, PMD_SIZE);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void double_map(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = 6;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(a, npages);
      h.p.mprotect(a, npages * PAGE, PROT_READ);
      for (DmirrorMirror dev : new DmirrorMirror[] {h.m, h.m1}) {
        DmirrorCmd r = Hmm.run(dev, DmirrorCommand.READ, a, npages);
        assertThat(r.cpages()).isEqualTo(npages);
        assertThat(r.faults()).isEqualTo(1);
        Hmm.checkMirror(r, 0, npages, 0);
      }
      DmirrorCmd mc = Hmm.run(h.m1, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
      assertThat(mc.cpages()).isEqualTo(npages);
      DmirrorCmd r = Hmm.run(h.m, DmirrorCommand.READ, a, npages);
      assertThat(r.cpages()).isEqualTo(npages);
      assertThat(r.faults()).isEqualTo(1);
      Hmm.checkMirror(r, 0, npages, 0);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void exclusive(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(a, npages);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.EXCLUSIVE, a, npages);
      assertThat(c.cpages()).isEqualTo(npages);
      Hmm.checkMirror(c, 0, npages, 0);
      increment(h.p, a, npages);
      h.checkCpu(h.p, a, 0, npages, 1);
      Hmm.run(h.m, DmirrorCommand.CHECK_EXCLUSIVE, a, npages); // atomic access revoked
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void exclusive_mprotect(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(a, npages);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.EXCLUSIVE, a, npages);
      assertThat(c.cpages()).isEqualTo(npages);
      Hmm.checkMirror(c, 0, npages, 0);
      h.p.mprotect(a, npages * PAGE, PROT_READ);
      assertErrno(() -> Hmm.run(h.m, DmirrorCommand.WRITE, a, npages), Errno.EPERM);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void exclusive_cow(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = HMM_BUFFER_PAGES;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(a, npages);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.EXCLUSIVE, a, npages);
      assertThat(c.cpages()).isEqualTo(npages);
      SimProcess child = h.p.fork();
      increment(child, a, npages);
      h.checkCpu(child, a, 0, npages, 1);
      child.exit();
      increment(h.p, a, npages);
      h.checkCpu(h.p, a, 0, npages, 1);
    }
  }

  /**
   * The kernel drives {@code gup_test}: {@code get_user_pages} (GUP_BASIC_TEST), {@code
   * get_user_pages_fast} (GUP_FAST_BENCHMARK), {@code pin_user_pages_fast} with {@code
   * FOLL_LONGTERM} (PIN_FAST_BENCHMARK) and {@code pin_user_pages} with {@code FOLL_LONGTERM}
   * (PIN_LONGTERM_BENCHMARK), all with {@code FOLL_WRITE}, one page each, released at once. The
   * simulation's GUP is the same walk for the fast and the slow flavours.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void hmm_gup_test(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = 4;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(a, npages);
      DmirrorCmd mc = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
      assertThat(mc.cpages()).isEqualTo(npages);
      Hmm.checkMirror(mc, 0, npages, 0);
      int[] flags = {
        Gup.FOLL_WRITE,
        Gup.FOLL_WRITE,
        Gup.FOLL_WRITE | Gup.FOLL_PIN | Gup.FOLL_LONGTERM,
        Gup.FOLL_WRITE | Gup.FOLL_PIN | Gup.FOLL_LONGTERM
      };
      for (int i = 0; i < npages; i++) {
        gupAndRelease(h, a + i * PAGE, flags[i]);
      }
      DmirrorCmd s = Hmm.run(h.m, DmirrorCommand.SNAPSHOT, a, npages);
      assertThat(s.cpages()).isEqualTo(npages);
      int unpinned =
          v.coherent() ? DmirrorProt.DEV_COHERENT_LOCAL | DmirrorProt.WRITE : DmirrorProt.WRITE;
      assertThat(s.perm(0)).isEqualTo(unpinned);
      assertThat(s.perm(1)).isEqualTo(unpinned);
      assertThat(s.perm(2)).isEqualTo(DmirrorProt.WRITE);
      assertThat(s.perm(3)).isEqualTo(DmirrorProt.WRITE);
      h.checkCpu(a, npages);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void hmm_cow_in_device(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      int npages = 4;
      long a = h.mmap(npages * PAGE, RW, ANON);
      h.fill(a, npages);
      DmirrorCmd mc = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
      assertThat(mc.cpages()).isEqualTo(npages);
      SimProcess child = h.p.fork();
      h.fill(a, npages); // the parent writes its copy-on-write pages
      child.exit();
      DmirrorCmd s = Hmm.run(h.m, DmirrorCommand.SNAPSHOT, a, npages);
      assertThat(s.cpages()).isEqualTo(npages);
      for (int i = 0; i < npages; i++) {
        assertThat(s.perm(i)).isEqualTo(DmirrorProt.WRITE);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_anon_huge_empty(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long a = h.alignedPmd(PROT_READ, Madvise.HUGEPAGE);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, PMD_PAGES);
      assertThat(c.cpages()).isEqualTo(PMD_PAGES);
      Hmm.checkMirrorZero(c, PMD_PAGES);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_anon_huge_zero(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long a = h.alignedPmd(PROT_READ, Madvise.HUGEPAGE);
      assertThat(h.p.load(a)).isZero(); // a read-only zero huge page
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, PMD_PAGES);
      assertThat(c.cpages()).isEqualTo(PMD_PAGES);
      Hmm.checkMirrorZero(c, PMD_PAGES);
      for (int pg = 0; pg < PMD_PAGES; pg++) {
        assertThat(h.p.load(a + pg * PAGE + PAGE - 8)).isZero(); // fault back
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_anon_huge_free(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long a = h.alignedPmd(RW, Madvise.HUGEPAGE);
      h.fill(a, PMD_PAGES);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, PMD_PAGES);
      assertThat(c.cpages()).isEqualTo(PMD_PAGES);
      Hmm.checkMirror(c, 0, PMD_PAGES, 0);
      h.p.madvise(a, PMD_SIZE, Madvise.FREE);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_anon_huge_fault(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long a = h.alignedPmd(RW, null);
      h.fill(a, PMD_PAGES);
      h.p.madvise(a, PMD_SIZE, Madvise.COLLAPSE);
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, PMD_PAGES);
      assertThat(c.cpages()).isEqualTo(PMD_PAGES);
      Hmm.checkMirror(c, 0, PMD_PAGES, 0);
      if (!v.coherent()) {
        DmirrorCmd s = Hmm.run(h.m, DmirrorCommand.SNAPSHOT, a, PMD_PAGES);
        assertThat(s.cpages()).isEqualTo(PMD_PAGES);
        for (int i = 0; i < PMD_PAGES; i++) {
          assertThat(s.perm(i))
              .as("page %d", i)
              .isEqualTo(DmirrorProt.DEV_PRIVATE_LOCAL | DmirrorProt.WRITE | DmirrorProt.PMD);
        }
        for (int i = 0; i < PMD_PAGES; i++) { // /proc/self/pagemap: a swap entry, not present
          long entry = h.p.pagemap(a + i * PAGE);
          assertThat(entry & Pagemap.PM_SWAP).as("page %d", i).isNotZero();
          assertThat(Pagemap.isPresent(entry)).as("page %d", i).isFalse();
        }
      }
      h.checkCpu(a, PMD_PAGES); // fault the pages back
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_partial_unmap_fault(Variant v) throws Exception {
    long unmapSize = PMD_SIZE / 2;
    long[] offsets = {0, PMD_SIZE / 4, PMD_SIZE / 2};
    for (int useThp = 0; useThp < 2; useThp++) {
      for (long offset : offsets) {
        try (Hmm h = new Hmm(v)) {
          long a = h.alignedPmd(RW, useThp == 1 ? Madvise.HUGEPAGE : Madvise.NOHUGEPAGE);
          h.fill(a, PMD_PAGES);
          DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, PMD_PAGES);
          assertThat(c.cpages()).isEqualTo(PMD_PAGES);
          Hmm.checkMirror(c, 0, PMD_PAGES, 0);
          h.p.munmap(a + offset, unmapSize);
          int from = (int) (offset / PAGE);
          int to = (int) ((offset + unmapSize) / PAGE);
          h.checkCpu(h.p, a, 0, from, 0);
          h.checkCpu(h.p, a, to, PMD_PAGES, 0);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_remap_fault(Variant v) throws Exception {
    long[] offsets = {0, PMD_SIZE / 4, PMD_SIZE / 2};
    for (int before = 0; before < 2; before++) {
      for (int dontUnmap = 0; dontUnmap < 2; dontUnmap++) {
        for (int useThp = 0; useThp < 2; useThp++) {
          for (long offset : offsets) {
            int flags = Mman.MREMAP_MAYMOVE | Mman.MREMAP_FIXED;
            if (dontUnmap == 1) {
              flags |= Mman.MREMAP_DONTUNMAP;
            }
            try (Hmm h = new Hmm(v)) {
              long old = h.mmap(8 * PMD_SIZE, RW, ANON);
              long map = h.pmdAligned(old, useThp == 1 ? Madvise.HUGEPAGE : Madvise.NOHUGEPAGE);
              h.p.munmap(map + PMD_SIZE, 2 * PMD_SIZE);
              h.fill(map, PMD_PAGES);
              long ptr = map;
              long target = map + PMD_SIZE + offset;
              if (before == 1) {
                ptr = h.p.mremap(map, PMD_SIZE, PMD_SIZE, flags, target);
                assertThat(ptr).isEqualTo(target);
              }
              DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, ptr, PMD_PAGES);
              assertThat(c.cpages()).isEqualTo(PMD_PAGES);
              Hmm.checkMirror(c, 0, PMD_PAGES, 0);
              if (before == 0) {
                ptr = h.p.mremap(map, PMD_SIZE, PMD_SIZE, flags, target);
                assertThat(ptr).isEqualTo(target);
              }
              h.checkCpu(ptr, PMD_PAGES); // fault the pages back at their new address
              h.p.munmap(ptr, PMD_SIZE);
            }
          }
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_anon_huge_err(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long old = h.mmap(2 * PMD_SIZE, RW, ANON);
      long a = h.pmdAligned(old, Madvise.HUGEPAGE);
      h.fill(a, PMD_PAGES);
      h.failAllocOnce(); // force the THP allocation error
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, PMD_PAGES);
      assertThat(c.cpages()).isEqualTo(PMD_PAGES);
      Hmm.checkMirror(c, 0, PMD_PAGES, 0);
      assertThat(h.p.load(a + 8L * 2048)).isEqualTo(2048); // fault back one page
      h.p.munmap(old, 2 * PMD_SIZE);
      old = h.mmap(2 * PMD_SIZE, RW, ANON);
      a = h.pmdAligned(old, Madvise.HUGEPAGE);
      h.fill(a, PMD_PAGES);
      DmirrorCmd again = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, PMD_PAGES);
      assertThat(again.cpages()).isEqualTo(PMD_PAGES);
      h.failAllocOnce(); // force an allocation error when migrating the THP back
      Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_SYS, a, PMD_PAGES);
      assertThat(h.p.load(a + 8L * 2048)).isEqualTo(2048);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void migrate_anon_huge_zero_err(Variant v) throws Exception {
    try (Hmm h = new Hmm(v)) {
      long old = h.mmap(2 * PMD_SIZE, PROT_READ, ANON);
      long a = h.pmdAligned(old, Madvise.HUGEPAGE);
      h.failAllocOnce();
      DmirrorCmd c = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, PMD_PAGES);
      assertThat(c.cpages()).isEqualTo(PMD_PAGES);
      Hmm.checkMirrorZero(c, PMD_PAGES);
      assertThat(h.p.load(a + 8L * 2048)).isZero(); // fault back one page
      h.p.munmap(old, 2 * PMD_SIZE);
      old = h.mmap(2 * PMD_SIZE, PROT_READ, ANON);
      a = h.pmdAligned(old, Madvise.HUGEPAGE);
      assertThat(h.p.load(a)).isZero(); // a zero THP
      h.failAllocOnce();
      DmirrorCmd again = Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, PMD_PAGES);
      assertThat(again.cpages()).isEqualTo(PMD_PAGES);
      for (int pg = 0; pg < PMD_PAGES; pg++) {
        assertThat(h.p.load(a + pg * PAGE)).isZero(); // fault the device memory back
      }
    }
  }

  /**
   * The kernel's benchmark asserts only that every migration succeeds, and prints timings (which
   * mean nothing in a simulation, and timed unit tests are not wanted). Its buffer sizes go from a
   * quarter of a THP to 128 THPs; here they stop at two THPs, which exercise every path the larger
   * ones do (partial, single and several PMD units, with and without the hint) at a fraction of the
   * run time.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(Variant.class)
  void benchmark_thp_migration(Variant v) throws Exception {
    long[] sizes = {PMD_SIZE / 4, PMD_SIZE / 2, PMD_SIZE, 2 * PMD_SIZE};
    int iterations = 5;
    try (Hmm h = new Hmm(v)) {
      for (long size : sizes) {
        for (int useThp = 1; useThp >= 0; useThp--) {
          int npages = (int) (size / PAGE);
          long a = h.mmap(size, RW, ANON);
          h.p.madvise(a, size, useThp == 1 ? Madvise.HUGEPAGE : Madvise.NOHUGEPAGE);
          h.fill(a, npages);
          for (int i = 0; i <= iterations; i++) { // a warm-up round, then the timed ones
            Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_DEV, a, npages);
            Hmm.run(h.m, DmirrorCommand.MIGRATE_TO_SYS, a, npages);
          }
          h.checkCpu(a, npages);
          h.p.munmap(a, size);
        }
      }
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Helpers

  private static void fillMirror(DmirrorCmd c, int npages) {
    for (int pg = 0; pg < npages; pg++) {
      c.setWord(pg * WORDS, (long) pg * WORDS);
      c.setWord(pg * WORDS + WORDS - 1, (long) pg * WORDS + WORDS - 1);
    }
  }

  private static void checkNegated(SimProcess proc, long a, int npages) throws ErrnoException {
    for (int pg = 0; pg < npages; pg++) {
      for (int w : new int[] {pg * WORDS, pg * WORDS + WORDS - 1}) {
        assertThat(proc.load(a + 8L * w)).isEqualTo(-(long) w);
      }
    }
  }

  /** {@code ptr[i]++} on the sampled words, checking the old value. */
  private static void increment(SimProcess proc, long a, int npages) throws ErrnoException {
    for (int pg = 0; pg < npages; pg++) {
      for (int w : new int[] {pg * WORDS, pg * WORDS + WORDS - 1}) {
        long va = a + 8L * w;
        long old = proc.load(va);
        assertThat(old).isEqualTo(w);
        proc.store(va, old + 1);
      }
    }
  }

  private static void gupAndRelease(Hmm h, long va, int flags) throws ErrnoException {
    long[] pfns = new long[1];
    RwSemaphore lock = h.p.mm().mmapLock();
    lock.downRead();
    try {
      assertThat(h.p.mm().getUserPages(va, 1, flags, pfns)).isEqualTo(1);
    } finally {
      lock.upRead();
    }
    if ((flags & Gup.FOLL_PIN) != 0) {
      h.f.memory.unpin(pfns[0]);
    } else {
      h.f.memory.put(pfns[0]);
    }
  }
}
