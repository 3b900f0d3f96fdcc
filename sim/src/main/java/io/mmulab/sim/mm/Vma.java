package io.mmulab.sim.mm;

import static io.mmulab.sim.mm.Mman.MAP_ANONYMOUS;
import static io.mmulab.sim.mm.Mman.MAP_HUGE;
import static io.mmulab.sim.mm.Mman.MAP_MIXEDMAP;
import static io.mmulab.sim.mm.Mman.MAP_PFNMAP;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static io.mmulab.sim.mm.Mman.PROT_WRITE;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One virtual memory area (kernel {@code vm_area_struct}): {@code [start, end)}, its protection,
 * its kind and what backs it. Immutable: a split or protection change replaces the object in the
 * address space's VMA tree (under the mmap lock held for write). Pieces of one original mapping
 * share the {@link AnonVma} that records whether anonymous pages were ever created in it.
 */
public final class Vma {
  private final long start;
  private final long end;
  private final int prot;
  private final int flags;
  private final @Nullable SimFile file;
  private final long pgoff;
  private final AnonVma anonVma;

  Vma(
      long start,
      long end,
      int prot,
      int flags,
      @Nullable SimFile file,
      long pgoff,
      AnonVma anonVma) {
    this.start = start;
    this.end = end;
    this.prot = prot;
    this.flags = flags;
    this.file = file;
    this.pgoff = pgoff;
    this.anonVma = anonVma;
  }

  /**
   * Returns the first address.
   *
   * @return the page-aligned start
   */
  public long start() {
    return start;
  }

  /**
   * Returns the exclusive end.
   *
   * @return the page-aligned end
   */
  public long end() {
    return end;
  }

  /**
   * Returns the protection, {@link Mman} {@code PROT_*} bits.
   *
   * @return the protection
   */
  public int prot() {
    return prot;
  }

  /**
   * Returns the mapping flags, {@link Mman} {@code MAP_*} bits ({@code MAP_FIXED} dropped; {@code
   * MAP_HUGE} and {@link #VM_NOHUGEPAGE} as {@code madvise} last set them).
   *
   * @return the flags
   */
  public int flags() {
    return flags;
  }

  /**
   * Returns the file behind a file or shared anonymous mapping.
   *
   * @return the file, or null for private anonymous and raw pfn mappings
   */
  public @Nullable SimFile file() {
    return file;
  }

  /** The file behind this mapping, for a caller that found a file page in it. */
  SimFile backingFile() {
    return Objects.requireNonNull(file, () -> this + " has no file");
  }

  /**
   * Returns the page index in {@link #file()} that {@link #start()} maps.
   *
   * @return the page offset
   */
  public long pgoff() {
    return pgoff;
  }

  /** True for {@code VM_SHARED}. */
  public boolean isShared() {
    return (flags & MAP_SHARED) != 0;
  }

  /** True for private anonymous memory (kernel {@code vma_is_anonymous}; hugetlb is not). */
  public boolean isAnonymous() {
    return (flags & MAP_ANONYMOUS) != 0
        && !isShared()
        && !isPfnMap()
        && !isMixedMap()
        && !isHugetlb();
  }

  /** True for a hugetlb mapping ({@code VM_HUGETLB}). */
  public boolean isHugetlb() {
    return (flags & Mman.MAP_HUGETLB) != 0;
  }

  /**
   * Returns the order of the hugetlb pages of the mapping.
   *
   * @return 9 (2 MiB pages) or 18 (1 GiB pages); 0 if not a hugetlb mapping
   */
  public int hugetlbOrder() {
    if (!isHugetlb()) {
      return 0;
    }
    int shift = (flags >>> Mman.MAP_HUGE_SHIFT) & Mman.MAP_HUGE_MASK;
    return (shift == 0 ? 21 : shift) - SimMm.PAGE_SHIFT;
  }

  /** The bytes of one hugetlb page of the mapping (a base page if not hugetlb). */
  long hugetlbSize() {
    return SimMm.PAGE_SIZE << hugetlbOrder();
  }

  /** True for {@code VM_IO | VM_PFNMAP}. */
  public boolean isPfnMap() {
    return (flags & MAP_PFNMAP) != 0;
  }

  /** True for {@code VM_MIXEDMAP}. */
  public boolean isMixedMap() {
    return (flags & MAP_MIXEDMAP) != 0;
  }

  /** True if aligned 2 MiB blocks get huge pages. */
  public boolean isHuge() {
    return (flags & MAP_HUGE) != 0;
  }

  /**
   * The flag {@code madvise(MADV_NOHUGEPAGE)} sets in {@link #flags()} (kernel {@code
   * VM_NOHUGEPAGE}); no {@code mmap} flag has this bit.
   */
  public static final int VM_NOHUGEPAGE = 0x80_0000;

  /** True after {@code MADV_NOHUGEPAGE}: no huge pages, and {@code MADV_COLLAPSE} refuses it. */
  public boolean isNoHugepage() {
    return (flags & VM_NOHUGEPAGE) != 0;
  }

  /** True for {@code VM_READ}. */
  public boolean isReadable() {
    return (prot & PROT_READ) != 0;
  }

  /** True for {@code VM_WRITE}. */
  public boolean isWritable() {
    return (prot & PROT_WRITE) != 0;
  }

  /** True for a private mapping whose pages are copied on write (kernel {@code is_cow_mapping}). */
  boolean isCow() {
    return !isShared() && !isPfnMap();
  }

  AnonVma anonVma() {
    return anonVma;
  }

  /** The file page index behind {@code va}. */
  long fileIndex(long va) {
    return pgoff + ((va - start) >>> SimMm.PAGE_SHIFT);
  }

  boolean contains(long va) {
    return va >= start && va < end;
  }

  Vma withBounds(long newStart, long newEnd) {
    long newPgoff = pgoff + ((newStart - start) >>> SimMm.PAGE_SHIFT);
    return new Vma(newStart, newEnd, prot, flags, file, newPgoff, anonVma);
  }

  Vma withFlags(int newFlags) {
    return new Vma(start, end, prot, newFlags, file, pgoff, anonVma);
  }

  Vma withProt(int newProt) {
    return new Vma(start, end, newProt, flags, file, pgoff, anonVma);
  }

  /** A copy for a forked child: same bounds and backing, its own anon record. */
  Vma forChild() {
    AnonVma childAnon = new AnonVma();
    childAnon.set(anonVma.isSet());
    return new Vma(start, end, prot, flags, file, pgoff, childAnon);
  }

  @Override
  public String toString() {
    return "["
        + Long.toHexString(start)
        + "-"
        + Long.toHexString(end)
        + " "
        + (isReadable() ? 'r' : '-')
        + (isWritable() ? 'w' : '-')
        + ((prot & Mman.PROT_EXEC) != 0 ? 'x' : '-')
        + (isShared() ? 's' : 'p')
        + (file == null ? "" : " " + file.name() + "@" + pgoff)
        + (isHuge() ? " huge" : "")
        + (isHugetlb() ? " hugetlb" + (hugetlbSize() >> 20) + "M" : "")
        + (isPfnMap() ? " pfnmap" : "")
        + (isMixedMap() ? " mixedmap" : "")
        + "]";
  }

  /**
   * Whether anonymous pages were ever created in the mapping (kernel {@code vma->anon_vma} being
   * set); fork copies page tables only of private mappings where it is set.
   */
  static final class AnonVma {
    private volatile boolean set;

    /**
     * Hugetlb pages still reserved for the mapping (kernel {@code resv_map} of the reservation
     * owner); guarded by the hugetlb pool's lock. A forked child's copy owns none.
     */
    int hugetlbReserved;

    boolean isSet() {
      return set;
    }

    void set(boolean value) {
      set = value;
    }
  }
}
