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
   * only).
   */
  public static final int MAP_HUGE = 0x4_0000;

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
      MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_HUGE | MAP_PFNMAP | MAP_MIXEDMAP;

  private Mman() {}
}
