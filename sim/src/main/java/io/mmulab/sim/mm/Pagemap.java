package io.mmulab.sim.mm;

import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import org.jspecify.annotations.Nullable;

/**
 * The 64-bit entries of {@link SimProcess#pagemap} in the layout of Linux's {@code
 * /proc/pid/pagemap} (as a privileged reader sees it, frame numbers shown), with helpers to take
 * them apart.
 *
 * <ul>
 *   <li>Present page (bit 63): bits 0–54 hold the frame. Bit 61 if the page is not anonymous (file,
 *       shared anonymous, or a page a driver inserted); bit 56 if it is mapped only here.
 *   <li>Swap entry (bit 62): bits 0–4 the swap type, bits 5–54 the offset. A real swap slot has
 *       type 0 and its slot number; device-private, device-exclusive and migration entries carry a
 *       frame as offset and the type the kernel gives them ({@link #SWP_DEVICE_WRITE} etc.).
 *   <li>Nothing mapped, a raw pfn mapping ({@code MAP_PFNMAP}, which the kernel's walk skips) or no
 *       VMA: 0.
 * </ul>
 *
 * <p>The soft-dirty bit (55) is not modelled and always clear.
 */
public final class Pagemap {
  /** Bits 0–54: the frame of a present page, or the swap type and offset. */
  public static final long PM_PFRAME_MASK = (1L << 55) - 1;

  /** Bit 55: soft-dirty (not modelled: always clear). */
  public static final long PM_SOFT_DIRTY = 1L << 55;

  /** Bit 56: the page is mapped exactly once. */
  public static final long PM_MMAP_EXCLUSIVE = 1L << 56;

  /** Bit 61: a file page or shared anonymous page. */
  public static final long PM_FILE = 1L << 61;

  /** Bit 62: the entry is swapped (or another swap-format entry: device-private, migration). */
  public static final long PM_SWAP = 1L << 62;

  /** Bit 63: the page is present. */
  public static final long PM_PRESENT = 1L << 63;

  /** Bits of the swap type below the offset (kernel {@code MAX_SWAPFILES_SHIFT}). */
  public static final int MAX_SWAPFILES_SHIFT = 5;

  /**
   * The number of real swap types, and so the first special one (kernel {@code MAX_SWAPFILES} with
   * device-private memory, migration, memory failure and PTE markers configured: 32 − 3 − 3 − 1 −
   * 1).
   */
  public static final int MAX_SWAPFILES = 24;

  /** A migration entry of a read-only page. */
  public static final int SWP_MIGRATION_READ = MAX_SWAPFILES + 1;

  /** A migration entry of a writable page. */
  public static final int SWP_MIGRATION_WRITE = MAX_SWAPFILES + 3;

  /** A writable device-private entry. */
  public static final int SWP_DEVICE_WRITE = MAX_SWAPFILES + 4;

  /** A read-only device-private entry. */
  public static final int SWP_DEVICE_READ = MAX_SWAPFILES + 5;

  /** A device-exclusive entry. */
  public static final int SWP_DEVICE_EXCLUSIVE = MAX_SWAPFILES + 6;

  private Pagemap() {}

  /**
   * Tells whether the entry maps a present page.
   *
   * @param entry a pagemap entry
   * @return bit 63
   */
  public static boolean isPresent(long entry) {
    return (entry & PM_PRESENT) != 0;
  }

  /**
   * Tells whether the entry is in swap format.
   *
   * @param entry a pagemap entry
   * @return bit 62
   */
  public static boolean isSwapped(long entry) {
    return (entry & PM_SWAP) != 0;
  }

  /**
   * Returns the frame of a present entry.
   *
   * @param entry a present pagemap entry
   * @return bits 0–54
   */
  public static long pfn(long entry) {
    return entry & PM_PFRAME_MASK;
  }

  /**
   * Returns the swap type of a swap-format entry.
   *
   * @param entry a swapped pagemap entry
   * @return bits 0–4
   */
  public static int swapType(long entry) {
    return (int) (entry & ((1 << MAX_SWAPFILES_SHIFT) - 1));
  }

  /**
   * Returns the swap offset of a swap-format entry (a frame for device and migration entries).
   *
   * @param entry a swapped pagemap entry
   * @return bits 5–54
   */
  public static long swapOffset(long entry) {
    return (entry & PM_PFRAME_MASK) >>> MAX_SWAPFILES_SHIFT;
  }

  /**
   * The entry of {@code pte} in {@code vma} (kernel {@code pte_to_pagemap_entry}); the caller holds
   * the ptl. "Mapped only here" is judged from reference counts (the simulator keeps no map count):
   * an anonymous page that is exclusive or referenced by this mapping alone, a file page referenced
   * by its cache and this mapping alone (pins not counted).
   */
  static long of(Vma vma, @Nullable Pte pte, PhysicalMemory memory) {
    if (pte == null || vma.isPfnMap()) {
      return 0;
    }
    if (pte instanceof Pte.Present p) {
      long flags = PM_PRESENT;
      boolean normal = p.kind() != Pte.PageKind.ZERO && p.kind() != Pte.PageKind.SPECIAL;
      if (normal) {
        long others = memory.refcount(p.pfn()) - memory.pincount(p.pfn());
        boolean once;
        if (p.kind() == Pte.PageKind.ANON) {
          once = p.exclusive() || others == (vma.isHugetlb() ? 2 : 1);
        } else {
          flags |= PM_FILE;
          once = others == 2; // the page cache's (or the driver's) reference and this mapping's
        }
        flags |= once ? PM_MMAP_EXCLUSIVE : 0;
      }
      return flags | (p.pfn() & PM_PFRAME_MASK);
    }
    if (pte instanceof Pte.Swap s) {
      return PM_SWAP | swp(0, s.slot().id);
    }
    if (pte instanceof Pte.DevicePrivate d) {
      return PM_SWAP | swp(d.writable() ? SWP_DEVICE_WRITE : SWP_DEVICE_READ, d.pfn());
    }
    if (pte instanceof Pte.DeviceExclusive x) {
      return PM_SWAP | swp(SWP_DEVICE_EXCLUSIVE, x.pfn());
    }
    Pte.Migration m = (Pte.Migration) pte;
    long src = m.migration().srcPfn(m.index());
    return PM_SWAP | swp(SWP_MIGRATION_READ, src == CoherencyChecker.NO_PFN ? 0 : src);
  }

  private static long swp(int type, long offset) {
    return (type | offset << MAX_SWAPFILES_SHIFT) & PM_PFRAME_MASK;
  }
}
