package io.mmulab.sim.mm;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mm.Pte.PageKind;
import io.mmulab.sim.mm.Pte.Present;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The page-level operations of the kernel's background and maintenance paths, each with the event,
 * range and blockable flag the kernel gives it: clearing soft-dirty bits, {@code mremap},
 * write-back page cleaning, KSM merging, khugepaged collapse, compaction migration ({@code
 * try_to_migrate}), file truncation, and page aging (which fires the aging callbacks, not an
 * invalidation). The caller holds the mmap lock as each method says; where the kernel holds
 * reverse-map locks instead, the mmap lock for read stands in for them.
 */
final class PageOps {
  private final SimMm s;

  PageOps(SimMm s) {
    this.s = s;
  }

  /**
   * Kernel {@code clear_refs_write(CLEAR_REFS_SOFT_DIRTY)}: one SOFT_DIRTY invalidation over the
   * whole address space {@code [0, ULONG_MAX)}, write-protecting every writable anonymous page so
   * that the next write faults (and sets the bit again). mmap lock held for read.
   *
   * @return entries write-protected
   */
  int clearSoftDirty() {
    int[] n = {0};
    List<Vma> vmas = new ArrayList<>(s.vmas.values());
    s.invalidate(
        new MmuNotifierRange(
            s.mm, 0, MmuNotifierRange.ULONG_MAX, MmuNotifierEvent.SOFT_DIRTY, true, null),
        "clear_refs",
        null,
        d -> {
          for (Vma v : vmas) {
            for (Map.Entry<Long, Pte> e : s.pt.entries(v.start(), v.end())) {
              if (e.getValue() instanceof Present p
                  && p.writable()
                  && p.kind() == PageKind.ANON
                  && p.exclusive()) {
                s.pt.set(e.getKey(), p.withWritable(false));
                n[0]++;
              }
            }
          }
        });
    return n[0];
  }

  /**
   * Kernel {@code do_mremap} once the arguments are checked ({@link SimProcess#mremap(long, long,
   * long, int, long)} checks them): {@code [from, from + oldLen)} lies inside one VMA, lengths are
   * page multiples, {@code to} is page-aligned and, with {@code MREMAP_FIXED}, does not overlap the
   * source. mmap lock held for write.
   *
   * <ul>
   *   <li>No new address implied (neither {@code MREMAP_FIXED} nor {@code MREMAP_DONTUNMAP}) and
   *       not growing: the tail past {@code newLen} is unmapped (UNMAP); the address stays.
   *   <li>No new address implied and growing: the VMA grows in place if the source ends at its end
   *       and the addresses after it are free (no invalidation); else, with {@code MREMAP_MAYMOVE},
   *       it moves to a free place; else {@code ENOMEM}.
   *   <li>{@code MREMAP_FIXED}: whatever is mapped at the target is unmapped (UNMAP), a shrinking
   *       source loses its tail first (UNMAP), then it moves.
   *   <li>Moving (kernel {@code move_vma}): a VMA is created at the target; the entries move inside
   *       one UNMAP invalidation of the old range (kernel {@code move_page_tables}); a huge mapping
   *       whose whole block lands on a 2 MiB-aligned target moves whole, any other is split first
   *       (CLEAR of its block, nested); then the old range is unmapped (UNMAP again, over no
   *       entries), except with {@code MREMAP_DONTUNMAP}, which leaves the old VMA in place, empty.
   * </ul>
   *
   * @return the address of the remapped range
   */
  long mremap(VmaOps vmaOps, long from, long pageOldLen, long pageNewLen, int flags, long to)
      throws ErrnoException {
    Vma src = s.findVma(from);
    long oldLen = pageOldLen;
    long newLen = pageNewLen;
    if (src != null && src.isHugetlb()) {
      // Kernel do_mremap: lengths round up to the hugetlb page size, addresses must be aligned
      // to it, and a hugetlb mapping never grows. Leaving the old VMA in place would share its
      // reservations, which the simulator does not model: MREMAP_DONTUNMAP is refused too.
      long size = src.hugetlbSize();
      oldLen = (oldLen + size - 1) & -size;
      newLen = (newLen + size - 1) & -size;
      if ((from & (size - 1)) != 0
          || ((flags & Mman.MREMAP_FIXED) != 0 && (to & (size - 1)) != 0)
          || newLen > oldLen
          || (flags & Mman.MREMAP_DONTUNMAP) != 0) {
        throw new ErrnoException(
            Errno.EINVAL,
            "mremap of [0x"
                + Long.toHexString(from)
                + ", +"
                + pageOldLen
                + ") to "
                + pageNewLen
                + " bytes with flags "
                + flags
                + " in "
                + src);
      }
    }
    if (src == null || from + oldLen > src.end()) {
      throw new ErrnoException(
          Errno.EFAULT,
          "mremap of [0x" + Long.toHexString(from) + ", +" + oldLen + ") not in one VMA");
    }
    boolean raw = src.isPfnMap() || src.isMixedMap();
    if ((flags & Mman.MREMAP_DONTUNMAP) != 0 && raw) {
      throw new ErrnoException(Errno.EINVAL, "MREMAP_DONTUNMAP of the raw mapping " + src);
    }
    if (newLen > oldLen && raw) {
      throw new ErrnoException(Errno.EFAULT, "mremap cannot grow the raw mapping " + src);
    }
    boolean fixed = (flags & Mman.MREMAP_FIXED) != 0;
    if (fixed || (flags & Mman.MREMAP_DONTUNMAP) != 0) {
      if (fixed) {
        vmaOps.checkHugetlbCuts(to, to + newLen);
        vmaOps.munmap(to, newLen, false);
      }
      if (oldLen > newLen) {
        vmaOps.munmap(from + newLen, oldLen - newLen, false);
      }
      long target = fixed ? to : vmaOps.place(0, newLen, alignment(src));
      move(vmaOps, src, from, Math.min(oldLen, newLen), newLen, target, flags);
      return target;
    }
    if (oldLen >= newLen) {
      if (oldLen > newLen) {
        vmaOps.munmap(from + newLen, oldLen - newLen, false);
      }
      return from;
    }
    if (from + oldLen == src.end()
        && src.end() + (newLen - oldLen) <= SimMm.TASK_SIZE
        && s.vmasIn(src.end(), from + newLen).isEmpty()) {
      s.vmas.put(src.start(), src.withBounds(src.start(), from + newLen));
      return from;
    }
    if ((flags & Mman.MREMAP_MAYMOVE) == 0) {
      throw new ErrnoException(
          Errno.ENOMEM,
          "mremap cannot grow [0x"
              + Long.toHexString(from)
              + ", +"
              + oldLen
              + ") in place and may not move it");
    }
    long target = vmaOps.place(0, newLen, alignment(src));
    move(vmaOps, src, from, oldLen, newLen, target, flags);
    return target;
  }

  private static long alignment(Vma v) {
    return v.isHuge() ? PageTable.HPAGE_SIZE : v.hugetlbSize();
  }

  /** Kernel {@code move_vma}: {@code len} bytes of entries move from {@code from} to {@code to}. */
  private void move(VmaOps vmaOps, Vma src, long from, long len, long newLen, long to, int flags) {
    long delta = to - from;
    Vma moved =
        new Vma(
            to,
            to + newLen,
            src.prot(),
            src.flags(),
            src.file(),
            src.file() != null ? src.fileIndex(from) : 0,
            src.anonVma());
    if (moved.file() != null) {
      moved.file().mapped();
    }
    s.vmas.put(to, moved);
    s.invalidate(
        MmuNotifierRange.of(s.mm, MmuNotifierEvent.UNMAP, from, from + len),
        "mremap",
        () -> {
          for (long block : s.hugeBlocksIn(from, from + len)) {
            if (block < from
                || block + SimMm.HPAGE_SIZE > from + len
                || (delta & ~PageTable.HPAGE_MASK) != 0) {
              s.splitHugeBlock(block);
            }
          }
        },
        d -> {
          for (Map.Entry<Long, Pte> e : s.pt.entries(from, from + len)) {
            // Read before the removal: a removed tree node may take its successor's key.
            long va = e.getKey();
            Pte pte = e.getValue();
            s.pt.set(va, null);
            s.pt.set(va + delta, pte);
          }
        });
    if ((flags & Mman.MREMAP_DONTUNMAP) == 0) {
      vmaOps.munmap(from, len, false, false);
    }
  }

  /**
   * Kernel {@code page_mkclean_one} as write-back runs it over the dirty or writable pages of the
   * shared file mappings in {@code [start, end)}: per page a PROTECTION_PAGE invalidation of {@code
   * [va, va + PAGE_SIZE)}; the entry becomes clean and read-only, the page is marked dirty in the
   * page cache for write-back. mmap lock held for read (in place of the file's rmap lock).
   *
   * @return pages cleaned
   */
  int writeback(long start, long end) {
    int n = 0;
    for (Vma v : s.vmasIn(start, end)) {
      if (v.file() == null || !v.isShared()) {
        continue;
      }
      long from = Math.max(start, v.start());
      long to = Math.min(end, v.end());
      for (long va :
          pages(from, to, p -> p.kind() == PageKind.FILE && (p.writable() || p.dirty()))) {
        boolean[] cleaned = {false};
        s.invalidate(
            MmuNotifierRange.of(s.mm, MmuNotifierEvent.PROTECTION_PAGE, va, va + SimMm.PAGE_SIZE),
            "writeback",
            null,
            d -> {
              if (s.pt.get(va) instanceof Present p && p.kind() == PageKind.FILE) {
                if (p.dirty()) {
                  v.backingFile().markDirty(v.fileIndex(va));
                }
                s.pt.set(va, p.withWritable(false).withDirty(false));
                cleaned[0] = true;
              }
            });
        n += cleaned[0] ? 1 : 0;
      }
    }
    return n;
  }

  /**
   * KSM merging {@code dup} into {@code keep} (kernel {@code write_protect_page} then {@code
   * replace_page}): if both are exclusive anonymous base pages with equal contents, a CLEAR of
   * {@code keep}'s page write-protects it (no longer exclusive), then a CLEAR of {@code dup}'s page
   * maps {@code keep}'s frame read-only there; {@code dup}'s frame is dropped after that end. A
   * later write to either copies. mmap lock held for read.
   *
   * @return true if merged
   */
  boolean ksmMerge(long keep, long dup) {
    Vma kv = s.findVma(keep);
    Vma dv = s.findVma(dup);
    if (kv == null || dv == null || !kv.isAnonymous() || !dv.isAnonymous() || kv.isShared()) {
      return false;
    }
    long[] pfns = new long[2];
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      if (!(s.pt.get(keep) instanceof Present k && mergeable(k))
          || !(s.pt.get(dup) instanceof Present d && mergeable(d))
          || k.pfn() == d.pfn()) {
        return false;
      }
      pfns[0] = k.pfn();
      pfns[1] = d.pfn();
    } finally {
      ptl.unlock();
    }
    if (!sameContents(pfns[0], pfns[1])) {
      return false;
    }
    boolean[] ok = {false};
    s.invalidate(
        MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, keep, keep + SimMm.PAGE_SIZE),
        "ksm write-protect",
        null,
        d -> {
          if (s.pt.get(keep) instanceof Present k && k.pfn() == pfns[0] && mergeable(k)) {
            s.pt.set(keep, k.withWritable(false).withExclusive(false));
            ok[0] = true;
          }
        });
    if (!ok[0]) {
      return false;
    }
    ok[0] = false;
    s.invalidate(
        MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, dup, dup + SimMm.PAGE_SIZE),
        "ksm replace",
        null,
        d -> {
          if (s.pt.get(dup) instanceof Present p
              && p.pfn() == pfns[1]
              && mergeable(p)
              && s.pt.get(keep) instanceof Present k
              && k.pfn() == pfns[0]
              && sameContents(pfns[0], pfns[1])) {
            s.memory.get(pfns[0]);
            s.pt.set(dup, Present.of(pfns[0], PageKind.ANON, false, false));
            s.release(dv, dup, p, d);
            ok[0] = true;
          }
        });
    return ok[0];
  }

  private boolean mergeable(Present p) {
    return p.kind() == PageKind.ANON
        && !p.huge()
        && !p.protnone()
        && s.memory.pincount(p.pfn()) == 0
        && (p.exclusive() || !p.writable());
  }

  private boolean sameContents(long a, long b) {
    for (int off = 0; off < SimMm.PAGE_SIZE; off += 8) {
      if (s.memory.readLong(a, off) != s.memory.readLong(b, off)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Kernel {@code collapse_huge_page} (khugepaged) of the 2 MiB block at {@code block}: every page
   * of the block must be an exclusive, unpinned anonymous base page of one private anonymous VMA
   * covering the block. The aging callback {@code testYoung} is asked for each page (as {@code
   * __collapse_huge_page_isolate} does); then a new huge page is filled with copies and, inside a
   * CLEAR invalidation of {@code [block, block + 2 MiB)}, replaces the 512 entries; the old frames
   * are dropped after the end. mmap lock held for write.
   *
   * @return true if collapsed
   */
  boolean collapseHugePage(long block) throws ErrnoException {
    Vma v = s.findVma(block);
    if (v == null
        || !v.isAnonymous()
        || v.isShared()
        || block + SimMm.HPAGE_SIZE > v.end()
        || (block & ~PageTable.HPAGE_MASK) != 0) {
      return false;
    }
    return collapse(v, block, false) == Collapse.SUCCEEDED;
  }

  /** How a collapse of one block ended (the kernel's {@code scan_result}s that matter here). */
  enum Collapse {
    /** Collapsed. */
    SUCCEEDED,
    /** Already a huge mapping ({@code SCAN_PMD_MAPPED}). */
    PMD_MAPPED,
    /** An entry that is not a present anonymous base page, or no writable page at all. */
    NOT_SUITABLE,
    /** A page shared with another mapping or pinned ({@code SCAN_PAGE_COUNT}). */
    PAGE_COUNT,
    /** The entries changed before the switch. */
    CHANGED
  }

  /**
   * Kernel {@code madvise_collapse}: every aligned 2 MiB block inside {@code [start, end)} of the
   * private anonymous VMAs there is collapsed (a block already huge counts as done). Unlike
   * khugepaged it takes empty and zero-page entries (they read as zeros in the huge page) as long
   * as one page of the block is present and writable. mmap lock held for write.
   *
   * @throws ErrnoException {@link Errno#EINVAL} for a VMA that may not have huge pages (not private
   *     anonymous, or {@code MADV_NOHUGEPAGE}) or a block with unsuitable entries (swapped, device,
   *     none writable); {@link Errno#EAGAIN} for a shared or pinned page or a block that changed;
   *     {@link Errno#ENOMEM} if no huge page could be allocated; {@link Errno#ENOMEM} also if part
   *     of the range is unmapped (after the rest was done)
   */
  void madviseCollapse(long start, long end) throws ErrnoException {
    List<Vma> vmas = s.vmasIn(start, end);
    for (Vma v : vmas) {
      if (!v.isAnonymous() || v.isNoHugepage()) {
        throw new ErrnoException(Errno.EINVAL, "MADV_COLLAPSE of " + v);
      }
    }
    ErrnoException last = null;
    long cursor = start;
    boolean gap = false;
    for (Vma v : vmas) {
      gap |= v.start() > cursor;
      cursor = v.end();
      long from = (Math.max(start, v.start()) + SimMm.HPAGE_SIZE - 1) & PageTable.HPAGE_MASK;
      long to = Math.min(end, v.end()) & PageTable.HPAGE_MASK;
      for (long block = from; block < to; block += SimMm.HPAGE_SIZE) {
        Collapse r;
        try {
          r = collapse(v, block, true);
        } catch (ErrnoException e) {
          last = e;
          continue;
        }
        Errno errno =
            switch (r) {
              case SUCCEEDED, PMD_MAPPED -> null;
              case PAGE_COUNT, CHANGED -> Errno.EAGAIN;
              case NOT_SUITABLE -> Errno.EINVAL;
            };
        if (errno != null) {
          last =
              new ErrnoException(
                  errno, "MADV_COLLAPSE of the block 0x" + Long.toHexString(block) + ": " + r);
        }
      }
    }
    if (last != null) {
      throw last;
    }
    if (gap || cursor < end) {
      throw new ErrnoException(Errno.ENOMEM, "MADV_COLLAPSE range has unmapped parts");
    }
  }

  /**
   * Kernel {@code collapse_huge_page} of one block of {@code v}; with {@code madv} (MADV_COLLAPSE)
   * empty and zero-page entries are accepted.
   */
  private Collapse collapse(Vma v, long block, boolean madv) throws ErrnoException {
    long[] old = new long[PageTable.HPAGE_PAGES];
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      if (s.pt.isHugeBlock(block)) {
        return Collapse.PMD_MAPPED; // the huge zero page too, as in the kernel
      }
      boolean writable = false;
      for (int i = 0; i < old.length; i++) {
        long va = block + ((long) i << SimMm.PAGE_SHIFT);
        Pte e = s.pt.get(va);
        if (madv && (e == null || (e instanceof Present z && z.kind() == PageKind.ZERO))) {
          old[i] = CoherencyChecker.NO_PFN;
          continue;
        }
        if (!(e instanceof Present p && p.kind() == PageKind.ANON && !p.huge() && !p.protnone())) {
          return Collapse.NOT_SUITABLE;
        }
        boolean shared = madv ? s.memory.refcount(p.pfn()) != 1 : !p.exclusive();
        if (shared || s.memory.pincount(p.pfn()) != 0) {
          return Collapse.PAGE_COUNT;
        }
        writable |= p.writable();
        old[i] = p.pfn();
        try {
          s.mm.testYoung(va);
        } catch (RuntimeException | Error x) {
          s.machine.callbackFailures().add(x); // the collapse goes on, as if not young
        }
      }
      if (madv && !writable) {
        return Collapse.NOT_SUITABLE; // kernel SCAN_PAGE_RO
      }
    } finally {
      ptl.unlock();
    }
    long head = s.memory.allocContiguous(s.owner("khugepaged", block), PageTable.HPAGE_ORDER);
    boolean[] done = {false};
    s.invalidate(
        MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, block, block + SimMm.HPAGE_SIZE),
        "khugepaged collapse",
        null,
        d -> {
          for (int i = 0; i < old.length; i++) {
            Pte e = s.pt.get(block + ((long) i << SimMm.PAGE_SHIFT));
            boolean same =
                old[i] == CoherencyChecker.NO_PFN
                    ? e == null || (e instanceof Present z && z.kind() == PageKind.ZERO)
                    : e instanceof Present p && p.pfn() == old[i];
            if (!same) {
              return;
            }
          }
          for (int i = 0; i < old.length; i++) {
            long va = block + ((long) i << SimMm.PAGE_SHIFT);
            Pte e = s.pt.get(va);
            boolean dirty = true;
            if (e instanceof Present p && p.kind() == PageKind.ANON) {
              s.memory.copy(old[i], head + i);
              dirty = p.dirty();
              s.release(v, va, p, d);
            }
            s.pt.set(
                va,
                new Present(
                    head + i, PageKind.ANON, v.isWritable(), dirty, true, false, false, true));
          }
          done[0] = true;
        });
    if (!done[0]) {
      for (int i = 0; i < PageTable.HPAGE_PAGES; i++) {
        s.memory.put(head + i);
      }
      return Collapse.CHANGED;
    }
    v.anonVma().set(true);
    return Collapse.SUCCEEDED;
  }

  /**
   * Kernel {@code try_to_migrate} as compaction and NUMA balancing use it, over the exclusive,
   * unpinned, unshared anonymous base pages of {@code [start, end)}: per page a CLEAR invalidation
   * of {@code [va, va + PAGE_SIZE)} inside which the entry moves to a copy on a new frame (the
   * kernel's migration entry and its removal, in one step); the old frame is dropped after the end.
   * mmap lock held for read (in place of the anon_vma lock).
   *
   * @return pages migrated
   */
  int compact(long start, long end) throws ErrnoException {
    int n = 0;
    for (Vma v : s.vmasIn(start, end)) {
      if (!v.isAnonymous() || v.isShared()) {
        continue;
      }
      long from = Math.max(start, v.start());
      long to = Math.min(end, v.end());
      List<Long> candidates =
          pages(
              from,
              to,
              p ->
                  p.kind() == PageKind.ANON
                      && p.exclusive()
                      && !p.huge()
                      && s.memory.refcount(p.pfn()) == 1
                      && s.memory.pincount(p.pfn()) == 0);
      for (long va : candidates) {
        long dst = s.memory.alloc(s.owner("compacted", va));
        boolean[] moved = {false};
        s.invalidate(
            MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, va, va + SimMm.PAGE_SIZE),
            "try_to_migrate",
            null,
            d -> {
              if (s.pt.get(va) instanceof Present p
                  && p.kind() == PageKind.ANON
                  && p.exclusive()
                  && !p.huge()
                  && s.memory.refcount(p.pfn()) == 1
                  && s.memory.pincount(p.pfn()) == 0) {
                s.memory.copy(p.pfn(), dst);
                s.pt.set(
                    va,
                    new Present(
                        dst, PageKind.ANON, p.writable(), p.dirty(), true, false, false, false));
                s.release(v, va, p, d);
                moved[0] = true;
              }
            });
        if (moved[0]) {
          n++;
        } else {
          s.memory.put(dst);
        }
      }
    }
    return n;
  }

  /**
   * Kernel {@code unmap_mapping_range} for a truncation of {@code file} to {@code newPages}: per
   * VMA of this address space mapping a page at or past the new end, one CLEAR invalidation of the
   * VMA's part from the first such page to the VMA's end, zapping the file's pages and private
   * copies of them alike. mmap lock held for read (in place of the file's rmap lock).
   */
  void truncateMapping(SimFile file, long newPages) {
    for (Vma v : new ArrayList<>(s.vmas.values())) {
      if (v.file() != file) {
        continue;
      }
      long firstGone = v.start() + ((newPages - v.pgoff()) << SimMm.PAGE_SHIFT);
      long from = Math.max(v.start(), newPages <= v.pgoff() ? v.start() : firstGone);
      if (Long.compareUnsigned(from, v.end()) >= 0) {
        continue;
      }
      s.invalidate(
          MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, from, v.end()),
          "truncate",
          null,
          d -> s.zap(v, from, v.end(), d));
    }
  }

  /**
   * Page aging over {@code [start, end)}: for each present page, under the page-table lock, the
   * classic notifiers' {@code clearFlushYoung} (with {@code flush}, as reclaim's {@code
   * page_referenced} does) or {@code clearYoung} (idle page tracking). No invalidation. mmap lock
   * held for read.
   *
   * @return pages some secondary MMU had accessed
   */
  int age(long start, long end, boolean flush) {
    int young = 0;
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      for (Map.Entry<Long, Pte> e : s.pt.entries(start, end)) {
        if (e.getValue() instanceof Present) {
          long va = e.getKey();
          try {
            boolean y =
                flush
                    ? s.mm.clearFlushYoung(va, va + SimMm.PAGE_SIZE)
                    : s.mm.clearYoung(va, va + SimMm.PAGE_SIZE);
            young += y ? 1 : 0;
          } catch (RuntimeException | Error x) {
            s.machine.callbackFailures().add(x); // the pass goes on over the other pages
          }
        }
      }
    } finally {
      ptl.unlock();
    }
    return young;
  }

  /** The present entries of {@code [from, to)} satisfying {@code which}, ascending. */
  private List<Long> pages(long from, long to, Predicate<Present> which) {
    List<Long> out = new ArrayList<>();
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      for (Map.Entry<Long, Pte> e : s.pt.entries(from, to)) {
        if (e.getValue() instanceof Present p && which.test(p)) {
          out.add(e.getKey());
        }
      }
    } finally {
      ptl.unlock();
    }
    return out;
  }
}
