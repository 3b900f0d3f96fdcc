package io.mmulab.sim.mm;

/**
 * Protection and mapping flags of {@link SimProcess#mmap}, {@link SimProcess#mprotect} and {@link
 * SimProcess#mremap(long, long, long, int, long)}, named after {@code <sys/mman.h>} so that ports
 * read like their C originals. The {@code MAP_HUGE}, {@code MAP_PFNMAP} and {@code MAP_MIXEDMAP}
 * flags stand for what a kernel driver or {@code madvise} would set on the VMA ({@code
 * VM_HUGEPAGE}, {@code VM_IO | VM_PFNMAP}, {@code VM_MIXEDMAP}).
 */
public final class Mman {
  /** No access. */
  public static final int PROT_NONE = 0;

  /** Pages may be read. */
  public static final int PROT_READ = 1;

  /** Pages may be written. */
  public static final int PROT_WRITE = 2;

  /** Pages may be executed (recorded, never checked). */
  public static final int PROT_EXEC = 4;

  /** Changes are shared with every other mapping of the same memory. */
  public static final int MAP_SHARED = 0x01;

  /** Changes are private (copy-on-write). */
  public static final int MAP_PRIVATE = 0x02;

  /** Place the mapping exactly at the address, replacing what was there. */
  public static final int MAP_FIXED = 0x10;

  /** Not backed by a file: zero-filled memory. */
  public static final int MAP_ANONYMOUS = 0x20;

  /**
   * Back aligned 2 MiB blocks with huge pages (transparent huge pages; anonymous private mappings
   * only): the simulator's stand-in for {@code madvise(MADV_HUGEPAGE)} at mmap time. It takes the
   * value Linux gives {@code MAP_HUGETLB}; the simulator's {@link #MAP_HUGETLB} has its own bit.
   */
  public static final int MAP_HUGE = 0x4_0000;

  /**
   * A hugetlb mapping (Linux {@code MAP_HUGETLB}, which Linux numbers {@code 0x40000}; that value
   * is {@link #MAP_HUGE} here): anonymous private memory backed by pages of the machine's hugetlb
   * pool ({@link SimMachine#hugetlbPool}), reserved at mmap, faulted whole and never split. The
   * page size is chosen by {@link #MAP_HUGE_2MB} (the default) or {@link #MAP_HUGE_1GB}; address
   * and length are rounded to it.
   */
  public static final int MAP_HUGETLB = 0x40_0000;

  /** Where the log2 of the hugetlb page size sits in the flags (Linux {@code MAP_HUGE_SHIFT}). */
  public static final int MAP_HUGE_SHIFT = 26;

  /** The width mask of the hugetlb page-size field (Linux {@code MAP_HUGE_MASK}). */
  public static final int MAP_HUGE_MASK = 0x3f;

  /** Hugetlb pages of 2 MiB, mapped at PMD level (Linux {@code MAP_HUGE_2MB}). */
  public static final int MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;

  /** Hugetlb pages of 1 GiB, mapped at PUD level (Linux {@code MAP_HUGE_1GB}). */
  public static final int MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT;

  /**
   * A raw pfn mapping of device memory ({@code VM_IO | VM_PFNMAP}): populated only by {@link
   * SimProcess#remapPfnRange}, never faulted, invisible to GUP and {@code hmmRangeFault}.
   */
  public static final int MAP_PFNMAP = 0x10_0000;

  /**
   * A mixed mapping ({@code VM_MIXEDMAP}): populated by {@link SimProcess#vmInsertPage} (normal
   * pages) and {@link SimProcess#vmInsertPfn} (special entries without a page).
   */
  public static final int MAP_MIXEDMAP = 0x20_0000;

  /** {@code mremap}: the mapping may move to a new address. */
  public static final int MREMAP_MAYMOVE = 1;

  /**
   * {@code mremap}: move to exactly the given new address, replacing what was there (requires
   * {@code MREMAP_MAYMOVE}).
   */
  public static final int MREMAP_FIXED = 2;

  /**
   * {@code mremap}: move the pages but leave the old VMA in place, empty (requires {@code
   * MREMAP_MAYMOVE} and an unchanged length).
   */
  public static final int MREMAP_DONTUNMAP = 4;

  static final int MREMAP_ALL = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;

  static final int PROT_ALL = PROT_READ | PROT_WRITE | PROT_EXEC;
  static final int MAP_ALL =
      MAP_SHARED
          | MAP_PRIVATE
          | MAP_FIXED
          | MAP_ANONYMOUS
          | MAP_HUGE
          | MAP_PFNMAP
          | MAP_MIXEDMAP
          | MAP_HUGETLB
          | MAP_HUGE_MASK << MAP_HUGE_SHIFT;

  private Mman() {}
}
