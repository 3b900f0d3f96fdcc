package io.mmulab.sim.mm;

import static io.mmulab.sim.mm.Mman.MAP_ANONYMOUS;
import static io.mmulab.sim.mm.Mman.MAP_FIXED;
import static io.mmulab.sim.mm.Mman.MAP_HUGE;
import static io.mmulab.sim.mm.Mman.MAP_HUGETLB;
import static io.mmulab.sim.mm.Mman.MAP_MIXEDMAP;
import static io.mmulab.sim.mm.Mman.MAP_PFNMAP;
import static io.mmulab.sim.mm.Mman.MAP_PRIVATE;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_NONE;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.mm.Pte.PageKind;
import io.mmulab.sim.mm.Pte.Present;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The VMA-level system calls of one address space: {@code mmap}, {@code munmap}, {@code mprotect},
 * {@code madvise}, NUMA hinting ({@code change_prot_numa}) and the driver-side {@code
 * remap_pfn_range} / {@code vm_insert_page} / {@code vm_insert_pfn}. Callers take the mmap lock:
 * for write around mmap, munmap and mprotect; for read around the others. Adjacent VMAs are never
 * merged.
 */
final class VmaOps {
  private final SimMm s;

  VmaOps(SimMm s) {
    this.s = s;
  }

  // ---------------------------------------------------------------------------------------------
  // mmap / munmap

  long mmap(long addr, long length, int prot, int flags, @Nullable SimFile file, long offset)
      throws ErrnoException {
    s.requireMmapWriteLock("mmap");
    if (length <= 0 || length > SimMm.TASK_SIZE) {
      throw new ErrnoException(Errno.EINVAL, "mmap length " + length);
    }
    if ((prot & ~Mman.PROT_ALL) != 0 || (flags & ~Mman.MAP_ALL) != 0) {
      throw new ErrnoException(
          Errno.EINVAL,
          "mmap prot 0x" + Integer.toHexString(prot) + " flags 0x" + Integer.toHexString(flags));
    }
    boolean shared = (flags & MAP_SHARED) != 0;
    if (shared == ((flags & MAP_PRIVATE) != 0)) {
      throw new ErrnoException(Errno.EINVAL, "mmap needs exactly one of MAP_SHARED, MAP_PRIVATE");
    }
    boolean raw = (flags & (MAP_PFNMAP | MAP_MIXEDMAP)) != 0;
    boolean anon = (flags & MAP_ANONYMOUS) != 0;
    if ((file != null) == (anon || raw)
        || ((flags & MAP_PFNMAP) != 0 && (flags & MAP_MIXEDMAP) != 0)
        || ((flags & MAP_HUGE) != 0 && (!anon || shared))) {
      throw new ErrnoException(
          Errno.EINVAL, "mmap flags 0x" + Integer.toHexString(flags) + " with file " + file);
    }
    if ((offset & (SimMm.PAGE_SIZE - 1)) != 0 || offset < 0) {
      throw new ErrnoException(Errno.EINVAL, "mmap offset " + offset + " not page-aligned");
    }
    long pageSize = hugetlbPageSize(flags, anon, shared, raw);
    long len = (length + pageSize - 1) & -pageSize;
    long start;
    if ((flags & MAP_FIXED) != 0) {
      if ((addr & (pageSize - 1)) != 0 || addr < SimMm.PAGE_SIZE || addr > SimMm.TASK_SIZE - len) {
        throw new ErrnoException(Errno.EINVAL, "MAP_FIXED at 0x" + Long.toHexString(addr));
      }
      start = addr;
      checkHugetlbCuts(start, start + len);
      munmap(start, len, false);
    } else {
      start = place(addr, len, (flags & MAP_HUGE) != 0 ? PageTable.HPAGE_SIZE : pageSize);
    }
    Vma.AnonVma anonVma = new Vma.AnonVma();
    if ((flags & MAP_HUGETLB) != 0) {
      int order = Long.numberOfTrailingZeros(pageSize) - SimMm.PAGE_SHIFT;
      s.machine.hugetlb().reserve(order, (int) (len / pageSize), anonVma);
    }
    SimFile backing = file;
    if (anon && shared) {
      backing = s.machine.newShmemFile(len >>> SimMm.PAGE_SHIFT);
    }
    if (backing != null) {
      backing.mapped();
    }
    Vma vma =
        new Vma(
            start,
            start + len,
            prot,
            flags & ~MAP_FIXED,
            backing,
            backing == file ? offset >>> SimMm.PAGE_SHIFT : 0,
            anonVma);
    s.vmas.put(start, vma);
    return start;
  }

  /**
   * The page size of a mapping with {@code flags}: the hugetlb page size with {@code MAP_HUGETLB}
   * (2 MiB unless {@code MAP_HUGE_1GB}), else a base page.
   *
   * @throws ErrnoException {@link Errno#EINVAL} for a size field without {@code MAP_HUGETLB}, an
   *     unsupported size, or {@code MAP_HUGETLB} on anything but private anonymous memory
   */
  private static long hugetlbPageSize(int flags, boolean anon, boolean shared, boolean raw)
      throws ErrnoException {
    int shift = (flags >>> Mman.MAP_HUGE_SHIFT) & Mman.MAP_HUGE_MASK;
    if ((flags & MAP_HUGETLB) == 0) {
      if (shift != 0) {
        throw new ErrnoException(Errno.EINVAL, "a MAP_HUGE_* size without MAP_HUGETLB");
      }
      return SimMm.PAGE_SIZE;
    }
    if ((shift != 0 && shift != 21 && shift != 30)
        || !anon
        || shared
        || raw
        || (flags & MAP_HUGE) != 0) {
      // Shared hugetlb memory (a hugetlbfs file) is not modelled.
      throw new ErrnoException(
          Errno.EINVAL,
          "MAP_HUGETLB with flags 0x"
              + Integer.toHexString(flags)
              + ": private anonymous memory of 2 MiB or 1 GiB pages only");
    }
    return 1L << (shift == 0 ? 21 : shift);
  }

  /**
   * Kernel {@code hugetlb_vm_op_split}: a hugetlb VMA may only be cut at a boundary of its pages.
   *
   * @throws ErrnoException {@link Errno#EINVAL} if {@code addr} or {@code end} falls inside a
   *     hugetlb page
   */
  void checkHugetlbCuts(long addr, long end) throws ErrnoException {
    for (long cut : new long[] {addr, end}) {
      Vma v = s.findVma(cut);
      if (v != null && v.isHugetlb() && (cut & (v.hugetlbSize() - 1)) != 0) {
        throw new ErrnoException(
            Errno.EINVAL, "0x" + Long.toHexString(cut) + " cuts a hugetlb page of " + v);
      }
    }
  }

  /**
   * The hint if free and aligned, else the first free gap from {@link SimMm#MMAP_BASE} aligned to
   * {@code align}.
   */
  long place(long hint, long len, long align) throws ErrnoException {
    if (hint != 0
        && (hint & (align - 1)) == 0
        && hint >= SimMm.PAGE_SIZE
        && hint <= SimMm.TASK_SIZE - len
        && s.vmasIn(hint, hint + len).isEmpty()) {
      return hint;
    }
    long candidate = (SimMm.MMAP_BASE + align - 1) & -align;
    for (Vma v : s.vmas.tailMap(0L).values()) {
      if (v.end() <= candidate) {
        continue;
      }
      if (v.start() >= candidate + len) {
        break;
      }
      candidate = (v.end() + align - 1) & -align;
    }
    if (candidate > SimMm.TASK_SIZE - len) {
      throw new ErrnoException(Errno.ENOMEM, "no room for " + len + " bytes in " + s);
    }
    return candidate;
  }

  /**
   * Kernel {@code do_vmi_munmap}: split the VMAs at both ends (splitting a huge mapping cut by a
   * boundary), detach them, then one UNMAP invalidation over {@code [addr, addr + len)} that zaps
   * them; frames are dropped after its end, page tables nobody needs are freed last. With {@code
   * downgrade} (the munmap system call, since Linux 4.20) the mmap lock, held for write by the
   * caller, is downgraded to read once the VMAs are detached, so faults, GUP and {@code
   * hmmRangeFault} can run during the zap (they find no VMA there); the caller then holds it for
   * read.
   */
  void munmap(long addr, long len, boolean downgrade) {
    munmap(addr, len, downgrade, true);
  }

  /**
   * As {@link #munmap(long, long, boolean)}; without {@code unreserve} the hugetlb reservations of
   * the range stay with its mapping (an mremap that moved it).
   */
  void munmap(long addr, long len, boolean downgrade, boolean unreserve) {
    long end = addr + len;
    if (s.vmasIn(addr, end).isEmpty()) {
      return;
    }
    splitVmaAt(addr);
    splitVmaAt(end);
    List<Vma> victims = s.vmasIn(addr, end);
    for (Vma v : victims) {
      s.vmas.remove(v.start());
      if (unreserve) {
        s.unreserveHugetlb(v);
      }
    }
    if (downgrade) {
      s.mm.mmapLock().downgradeWrite();
    }
    s.invalidate(
        MmuNotifierRange.of(s.mm, MmuNotifierEvent.UNMAP, addr, end),
        "munmap",
        null,
        d -> {
          for (Vma v : victims) {
            s.zap(v, v.start(), v.end(), d);
          }
        });
    for (Vma v : victims) {
      if (v.file() != null) {
        v.file().unmapped();
      }
    }
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      s.pt.freeTables(
          addr,
          end,
          b -> !s.vmasIn(b, b + PageTable.HPAGE_SIZE).isEmpty(),
          b -> !s.vmasIn(b, b + PageTable.PUD_SIZE).isEmpty());
    } finally {
      ptl.unlock();
    }
  }

  /** Splits the VMA containing {@code addr} (strictly inside) in two; mmap write lock held. */
  private void splitVmaAt(long addr) {
    Vma v = s.findVma(addr);
    if (v == null || v.start() == addr) {
      return;
    }
    long block = addr & PageTable.HPAGE_MASK;
    if (block != addr) {
      s.splitHugeBlock(block);
    }
    s.vmas.put(v.start(), v.withBounds(v.start(), addr));
    s.vmas.put(addr, v.withBounds(addr, v.end()));
    if (v.file() != null) {
      v.file().mapped();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // mprotect and NUMA hinting

  /**
   * Kernel {@code mprotect}: VMA by VMA in address order (an unmapped gap stops it with {@code
   * ENOMEM}, after the VMAs before the gap changed), split at the ends, new protection, then {@code
   * change_protection} with its PROTECTION_VMA invalidation.
   */
  void mprotect(long addr, long len, int prot) throws ErrnoException {
    s.requireMmapWriteLock("mprotect");
    if ((prot & ~Mman.PROT_ALL) != 0) {
      throw new ErrnoException(Errno.EINVAL, "mprotect prot 0x" + Integer.toHexString(prot));
    }
    long end = addr + len;
    if (s.findVma(addr) == null) {
      throw new ErrnoException(Errno.ENOMEM, "mprotect of unmapped 0x" + Long.toHexString(addr));
    }
    checkHugetlbCuts(addr, end);
    splitVmaAt(addr);
    splitVmaAt(end);
    long cursor = addr;
    for (Vma v : s.vmasIn(addr, end)) {
      if (v.start() > cursor) {
        break;
      }
      Vma nv = v.withProt(prot);
      s.vmas.put(nv.start(), nv);
      changeProtection(nv, nv.start(), nv.end(), false);
      cursor = v.end();
    }
    if (cursor < end) {
      throw new ErrnoException(
          Errno.ENOMEM, "mprotect reached unmapped 0x" + Long.toHexString(cursor));
    }
  }

  /** Kernel {@code change_prot_numa}: makes present pages of readable VMAs protnone. */
  void numaProtect(long addr, long len) {
    long end = addr + len;
    for (Vma v : s.vmasIn(addr, end)) {
      if (v.isReadable() && !v.isPfnMap() && !v.isMixedMap() && !v.isHugetlb()) {
        changeProtection(v, Math.max(addr, v.start()), Math.min(end, v.end()), true);
      }
    }
  }

  /**
   * Kernel {@code change_protection}: the PROTECTION_VMA invalidation starts lazily at the first
   * populated 1 GiB region of {@code [from, to)} (no event at all if no page table exists there)
   * and ends at {@code to}.
   */
  private void changeProtection(Vma vma, long from, long to, boolean numa) {
    long rangeStart = -1;
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      for (long c = from & PageTable.PUD_MASK; c < to; c += PageTable.PUD_SIZE) {
        if (s.pt.isPudPopulated(c)) {
          rangeStart = Math.max(from, c);
          break;
        }
      }
    } finally {
      ptl.unlock();
    }
    if (rangeStart < 0) {
      return;
    }
    long rs = rangeStart;
    s.invalidate(
        MmuNotifierRange.of(s.mm, MmuNotifierEvent.PROTECTION_VMA, rs, to),
        numa ? "numa hinting" : "mprotect",
        () -> s.splitPartialHugeBlocks(rs, to),
        d -> {
          for (Map.Entry<Long, Pte> e : s.pt.entries(rs, to)) {
            Pte n = numa ? numaEntry(e.getValue()) : protectedEntry(vma, e.getValue());
            if (n != null && !n.equals(e.getValue())) {
              s.pt.set(e.getKey(), n);
            }
          }
        });
  }

  private static @Nullable Pte numaEntry(Pte pte) {
    if (pte instanceof Present p
        && (p.kind() == PageKind.ANON || p.kind() == PageKind.FILE)
        && !p.protnone()) {
      return p.withProtnone(true);
    }
    return null;
  }

  private static @Nullable Pte protectedEntry(Vma vma, Pte pte) {
    if (pte instanceof Present p) {
      boolean writable;
      if (!vma.isWritable()) {
        writable = false;
      } else if (p.writable()) {
        writable = true;
      } else if (p.kind() == PageKind.ANON) {
        writable = p.exclusive();
      } else {
        writable = vma.isShared() && p.kind() != PageKind.ZERO;
      }
      return p.withWritable(writable).withProtnone(vma.prot() == PROT_NONE);
    }
    if (pte instanceof Pte.DevicePrivate d && d.writable() && !vma.isWritable()) {
      return new Pte.DevicePrivate(d.pfn(), d.pagemap(), false, d.huge());
    }
    if (pte instanceof Pte.DeviceExclusive x && x.writable() && !vma.isWritable()) {
      return new Pte.DeviceExclusive(x.pfn(), x.owner(), false, x.dirty());
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // madvise

  /**
   * Kernel {@code madvise(DONTNEED|FREE)}: per VMA one CLEAR invalidation of the VMA's part of the
   * range; huge mappings the range cuts are split inside it. An unmapped gap is reported as {@code
   * ENOMEM} after the mapped parts were done.
   */
  void madvise(long addr, long len, Madvise advice) throws ErrnoException {
    long end = addr + len;
    List<Vma> vmas = s.vmasIn(addr, end);
    for (Vma v : vmas) {
      boolean ok =
          switch (advice) {
            // Kernel madvise_dontneed_free_valid_vma: a hugetlb range must start at one of its
            // pages; its end is rounded down to one.
            case DONTNEED ->
                !v.isPfnMap()
                    && !(v.isHugetlb() && (Math.max(addr, v.start()) & (v.hugetlbSize() - 1)) != 0);
            case FREE -> v.isAnonymous();
            case HUGEPAGE, NOHUGEPAGE, COLLAPSE ->
                throw new AssertionError(advice + " is not a page-table advice");
          };
      if (!ok) {
        throw new ErrnoException(Errno.EINVAL, "madvise(" + advice + ") on " + v);
      }
    }
    long cursor = addr;
    boolean gap = false;
    for (Vma v : vmas) {
      long from = Math.max(addr, v.start());
      long to = Math.min(end, v.end()) & -v.hugetlbSize();
      gap |= v.start() > cursor;
      cursor = v.end();
      if (from >= to) {
        continue;
      }
      s.invalidate(
          MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, from, to),
          "madvise(" + advice + ")",
          () -> s.splitPartialHugeBlocks(from, to),
          d -> {
            if (advice == Madvise.DONTNEED) {
              s.zap(v, from, to, d);
            } else {
              markFree(v, from, to, d);
            }
          });
    }
    if (gap || cursor < end) {
      throw unmappedParts(addr, end);
    }
  }

  /**
   * Kernel {@code hugepage_madvise} ({@code MADV_HUGEPAGE} if {@code on}, else {@code
   * MADV_NOHUGEPAGE}): the VMAs are split at the range's ends and get or lose {@link Mman#MAP_HUGE}
   * (and lose or get {@link Vma#VM_NOHUGEPAGE}); no entry changes. An unmapped gap is reported as
   * {@code ENOMEM} after the mapped parts were done. mmap lock held for write.
   *
   * @throws ErrnoException {@link Errno#EINVAL} if an end cuts a hugetlb page
   */
  void hugepageAdvice(long addr, long len, boolean on) throws ErrnoException {
    s.requireMmapWriteLock("madvise(HUGEPAGE)");
    long end = addr + len;
    checkHugetlbCuts(addr, end);
    splitVmaAt(addr);
    splitVmaAt(end);
    long cursor = addr;
    boolean gap = false;
    for (Vma v : s.vmasIn(addr, end)) {
      gap |= v.start() > cursor;
      cursor = v.end();
      if (v.isHugetlb() || v.isPfnMap() || v.isMixedMap()) {
        continue; // the kernel sets the flag; nothing here reads it for these mappings
      }
      int flags =
          on
              ? (v.flags() | MAP_HUGE) & ~Vma.VM_NOHUGEPAGE
              : (v.flags() & ~MAP_HUGE) | Vma.VM_NOHUGEPAGE;
      s.vmas.put(v.start(), v.withFlags(flags));
    }
    if (gap || cursor < end) {
      throw unmappedParts(addr, end);
    }
  }

  private static ErrnoException unmappedParts(long addr, long end) {
    return new ErrnoException(
        Errno.ENOMEM,
        "madvise range [0x"
            + Long.toHexString(addr)
            + ", 0x"
            + Long.toHexString(end)
            + ") has unmapped parts");
  }

  /** Kernel {@code madvise_free_pte_range}; ptl held. */
  private void markFree(Vma v, long from, long to, SimMm.Deferred d) {
    for (Map.Entry<Long, Pte> e : s.pt.entries(from, to)) {
      Pte pte = e.getValue();
      if (pte instanceof Present p && p.kind() == PageKind.ANON && p.exclusive()) {
        s.pt.set(e.getKey(), p.withDirty(false).withLazyfree(true));
      } else if (pte instanceof Pte.Swap) {
        s.release(v, e.getKey(), pte, d);
        s.pt.set(e.getKey(), null);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Driver-populated mappings

  void remapPfnRange(long va, long pfn, int pages) throws ErrnoException {
    Vma v = s.findVma(va);
    if (v == null || !v.isPfnMap() || va + ((long) pages << SimMm.PAGE_SHIFT) > v.end()) {
      throw new ErrnoException(
          Errno.EINVAL, "remap_pfn_range outside a pfn mapping at 0x" + Long.toHexString(va));
    }
    for (int i = 0; i < pages; i++) {
      insert(
          va + ((long) i << SimMm.PAGE_SHIFT),
          Present.of(pfn + i, PageKind.SPECIAL, v.isWritable(), false));
    }
  }

  void vmInsert(long va, long pfn, boolean page) throws ErrnoException {
    Vma v = s.findVma(va);
    if (v == null || !v.isMixedMap()) {
      throw new ErrnoException(
          Errno.EINVAL, "vm_insert outside a mixed mapping at 0x" + Long.toHexString(va));
    }
    boolean writable = v.isWritable() && v.isShared();
    if (page) {
      s.memory.get(pfn);
    }
    if (!insert(
        va, Present.of(pfn, page ? PageKind.INSERTED : PageKind.SPECIAL, writable, false))) {
      if (page) {
        s.memory.put(pfn);
      }
      throw new ErrnoException(Errno.EBUSY, "an entry already exists at 0x" + Long.toHexString(va));
    }
  }

  private boolean insert(long va, Present p) {
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      if (s.pt.get(va) != null) {
        return false;
      }
      s.pt.set(va, p);
      return true;
    } finally {
      ptl.unlock();
    }
  }
}
