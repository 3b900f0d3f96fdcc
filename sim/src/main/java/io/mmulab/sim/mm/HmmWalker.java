package io.mmulab.sim.mm;

import static io.mmulab.api.hmm.HmmPfnLayout.ERROR;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;
import static io.mmulab.api.hmm.HmmPfnLayout.VALID;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.mm.Pte.PageKind;
import io.mmulab.sim.mm.Pte.Present;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * {@code hmm_range_fault} (docs/notifier.md, "hmmRangeFault"), rule for rule:
 *
 * <ol>
 *   <li>Loop: if {@code checkRetry} is true, {@code EBUSY} (before touching the array); walk {@code
 *       [last, end)}; an internal "busy" (a fault was made, or a migration waited for) walks again
 *       from {@code last}. Entries below {@code last} hold output, the rest still hold input.
 *   <li>Per page the request is {@code (in & pfnFlagsMask) | defaultFlags}; without {@code
 *       REQ_FAULT} nothing is faulted; {@code REQ_WRITE} on a non-writable entry, or any request on
 *       an invalid entry, needs a fault. If neither the default flags nor the mask can ask for a
 *       fault, none is ever considered.
 *   <li>No VMA: {@code EFAULT} if a fault is needed, else {@code ERROR}. {@code VM_IO|VM_PFNMAP} or
 *       no {@code VM_READ}: the same for the whole VMA part, never looking at entries.
 *   <li>An empty block ({@code pmd_none}) or entry: fault if needed, else 0. A block fault covers
 *       the whole block part, an entry fault the rest of the block part from that entry.
 *   <li>Present entry: {@code VALID} (+ {@code WRITE}); {@code protnone} gives no flags (the pfn
 *       alone); a special entry gives {@code ERROR} ({@code EFAULT} if a fault is needed); the zero
 *       page is a normal valid page.
 *   <li>Huge mapping: the flags of the leaf, with order 9, for every page; a fault covers the whole
 *       part of the block. A hugetlb page likewise, with its order (9 or 18).
 *   <li>Device-private entry of {@code devPrivateOwner} (identity): {@code VALID} (+ {@code WRITE}
 *       if the entry is writable) with its pfn, never faulted. Otherwise a non-present entry
 *       needing no fault gives 0; swap, foreign device-private and device-exclusive entries are
 *       faulted; a migration entry is waited for, then the walk restarts there.
 *   <li>Fault ({@code hmm_vma_fault}): {@code last} = the first page; a write fault on a VMA
 *       without {@code VM_WRITE} is {@code EPERM}; each page of the sub-range is faulted (write if
 *       any page needed it); any failure is {@code EFAULT}.
 *   <li>Output: {@code pfn | order | flags}, keeping the input's sticky bits.
 * </ol>
 */
final class HmmWalker {
  private static final int NEED_FAULT = 1;
  private static final int NEED_WRITE_FAULT = 2;
  private static final int NEED_ALL = NEED_FAULT | NEED_WRITE_FAULT;

  /** Walk result: done. */
  private static final long DONE = -1;

  private final SimMm s;

  HmmWalker(SimMm s) {
    this.s = s;
  }

  void hmmRangeFault(HmmRange range) throws ErrnoException {
    long last = range.start();
    while (true) {
      if (range.notifier().checkRetry(range.notifierSeq())) {
        throw new ErrnoException(
            Errno.EBUSY,
            "an invalidation collided with the walk of [0x"
                + Long.toHexString(range.start())
                + ", 0x"
                + Long.toHexString(range.end())
                + ") in "
                + s);
      }
      long again = walk(range, last);
      if (again == DONE) {
        return;
      }
      last = again;
    }
  }

  /** Walks {@code [from, end)}; returns {@link #DONE} or the address to walk again from. */
  private long walk(HmmRange range, long from) throws ErrnoException {
    long end = range.end();
    long addr = from;
    while (Long.compareUnsigned(addr, end) < 0) {
      Vma vma = addr >= 0 && addr < SimMm.TASK_SIZE ? firstVmaFrom(addr) : null;
      if (vma == null || vma.start() > addr) {
        long holeEnd = vma == null ? end : minUnsigned(vma.start(), end);
        if (needFault(range, addr, holeEnd, 0) != 0) {
          throw new ErrnoException(
              Errno.EFAULT,
              "fault requested at 0x"
                  + Long.toHexString(addr)
                  + ", which no VMA of "
                  + s
                  + " maps");
        }
        fill(range, addr, holeEnd, ERROR);
        addr = holeEnd;
        continue;
      }
      long vmaEnd = minUnsigned(vma.end(), end);
      if (vma.isPfnMap() || !vma.isReadable()) {
        if (needFault(range, addr, vmaEnd, 0) != 0) {
          throw new ErrnoException(
              Errno.EFAULT,
              "fault requested at 0x"
                  + Long.toHexString(addr)
                  + " in "
                  + vma
                  + ", which hmm cannot map");
        }
        fill(range, addr, vmaEnd, ERROR);
        addr = vmaEnd;
        continue;
      }
      if (vma.isHugetlb()) {
        while (addr < vmaEnd) {
          long next = Math.min((addr & -vma.hugetlbSize()) + vma.hugetlbSize(), vmaEnd);
          long again = walkHugetlb(range, vma, addr, next);
          if (again != DONE) {
            return again;
          }
          addr = next;
        }
        continue;
      }
      while (addr < vmaEnd) {
        long next = Math.min((addr & PageTable.HPAGE_MASK) + PageTable.HPAGE_SIZE, vmaEnd);
        long again = walkBlock(range, vma, addr, next);
        if (again != DONE) {
          return again;
        }
        addr = next;
      }
    }
    return DONE;
  }

  /** One 2 MiB block part {@code [addr, next)} of a VMA (kernel {@code hmm_vma_walk_pmd}). */
  private long walkBlock(HmmRange range, Vma vma, long addr, long next) throws ErrnoException {
    long block = addr & PageTable.HPAGE_MASK;
    boolean huge;
    boolean pmdNone;
    Present leaf = null;
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      huge = s.pt.isHugeBlock(block);
      pmdNone = s.pt.isPmdNone(block);
      if (huge) {
        leaf = (Present) s.pt.get(block);
      }
    } finally {
      ptl.unlock();
    }
    if (pmdNone) {
      int required = needFault(range, addr, next, 0);
      if (required != 0) {
        return fault(vma, addr, next, required);
      }
      fill(range, addr, next, 0);
      return DONE;
    }
    if (huge) {
      Present hugeLeaf = Objects.requireNonNull(leaf, "a huge block maps a present leaf");
      long cpuFlags = hugeLeaf.protnone() ? 0 : VALID | (hugeLeaf.writable() ? WRITE : 0);
      int order = hugeLeaf.protnone() ? 0 : PageTable.HPAGE_ORDER;
      int required = needFault(range, addr, next, cpuFlags);
      if (required != 0) {
        return fault(vma, addr, next, required);
      }
      long pfn = hugeLeaf.pfn() + ((addr - block) >>> SimMm.PAGE_SHIFT);
      HmmPfnLayout layout = range.layout();
      for (long a = addr; a < next; a += SimMm.PAGE_SIZE, pfn++) {
        out(range, index(range, a), layout.encode(pfn, cpuFlags, order));
      }
      return DONE;
    }
    for (long a = addr; a < next; a += SimMm.PAGE_SIZE) {
      long again = walkPte(range, vma, a, next);
      if (again != DONE) {
        return again;
      }
    }
    return DONE;
  }

  /**
   * The part {@code [addr, next)} of one hugetlb page (kernel {@code hmm_vma_walk_hugetlb_entry}):
   * the flags of its entry with the page's order (9 or 18) for every base page; a fault covers the
   * whole part. An absent page needing no fault gives 0.
   */
  private long walkHugetlb(HmmRange range, Vma vma, long addr, long next) throws ErrnoException {
    long start = addr & -vma.hugetlbSize();
    Pte e;
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      e = s.pt.get(start);
    } finally {
      ptl.unlock();
    }
    Present leaf = e instanceof Present p && !p.protnone() ? p : null;
    long cpuFlags = leaf == null ? 0 : VALID | (leaf.writable() ? WRITE : 0);
    int required = needFault(range, addr, next, cpuFlags);
    if (required != 0) {
      return fault(vma, addr, next, required);
    }
    if (leaf == null) {
      fill(range, addr, next, 0);
      return DONE;
    }
    long pfn = leaf.pfn() + ((addr - start) >>> SimMm.PAGE_SHIFT);
    HmmPfnLayout layout = range.layout();
    for (long a = addr; a < next; a += SimMm.PAGE_SIZE, pfn++) {
      out(range, index(range, a), layout.encode(pfn, cpuFlags, vma.hugetlbOrder()));
    }
    return DONE;
  }

  /** One base entry (kernel {@code hmm_vma_handle_pte}). */
  private long walkPte(HmmRange range, Vma vma, long a, long next) throws ErrnoException {
    int i = index(range, a);
    Pte e;
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      e = s.pt.get(a);
    } finally {
      ptl.unlock();
    }
    Pte seen = e;
    s.rt.journal(() -> GupWalker.lookup("hmm", a, seen instanceof Present p ? p.pfn() : -1));
    s.rt.yieldPoint("hmm: after page lookup");
    HmmPfnLayout layout = range.layout();
    if (e == null) {
      int required = needFault(range, i, 0);
      if (required != 0) {
        return fault(vma, a, next, required);
      }
      out(range, i, 0);
      return DONE;
    }
    if (e instanceof Present p) {
      long cpuFlags = p.protnone() ? 0 : VALID | (p.writable() ? WRITE : 0);
      int required = needFault(range, i, cpuFlags);
      if (required != 0) {
        return fault(vma, a, next, required);
      }
      if (p.kind() == PageKind.SPECIAL) {
        if (needFault(range, i, 0) != 0) {
          throw new ErrnoException(
              Errno.EFAULT,
              "fault requested on special entry 0x" + Long.toHexString(a) + " of " + s);
        }
        out(range, i, ERROR);
        return DONE;
      }
      out(range, i, layout.encode(p.pfn(), cpuFlags, 0));
      return DONE;
    }
    if (e instanceof Pte.DevicePrivate d
        && range.devPrivateOwner() != null
        && d.pagemap().owner() == range.devPrivateOwner()) {
      int order = d.huge() ? PageTable.HPAGE_ORDER : 0;
      out(range, i, layout.encode(d.pfn(), VALID | (d.writable() ? WRITE : 0), order));
      return DONE;
    }
    int required = needFault(range, i, 0);
    if (required == 0) {
      out(range, i, 0);
      return DONE;
    }
    if (e instanceof Pte.Migration m) {
      m.migration().awaitDone();
      return a;
    }
    return fault(vma, a, next, required);
  }

  /** Kernel {@code hmm_vma_fault}: fault {@code [addr, end)}, then walk again from {@code addr}. */
  private long fault(Vma vma, long addr, long end, int required) throws ErrnoException {
    boolean write = (required & NEED_WRITE_FAULT) != 0;
    if (write && !vma.isWritable()) {
      throw new ErrnoException(
          Errno.EPERM,
          "write requested at 0x" + Long.toHexString(addr) + " in " + vma + ", which is read-only");
    }
    for (long a = addr; a < end; a += SimMm.PAGE_SIZE) {
      try {
        s.faults.fault(vma, a, write, false);
      } catch (ErrnoException e) {
        throw new ErrnoException(
            Errno.EFAULT, "fault at 0x" + Long.toHexString(a) + " in " + vma + " failed: " + e);
      }
    }
    return addr;
  }

  /** Kernel {@code hmm_pte_need_fault} for page {@code i}. */
  private static int needFault(HmmRange range, int i, long cpuFlags) {
    long req = range.request(i);
    if ((req & REQ_FAULT) == 0) {
      return 0;
    }
    if ((req & REQ_WRITE) != 0 && (cpuFlags & WRITE) == 0) {
      return NEED_ALL;
    }
    return (cpuFlags & VALID) == 0 ? NEED_FAULT : 0;
  }

  /** Kernel {@code hmm_range_need_fault} over {@code [addr, end)}. */
  private static int needFault(HmmRange range, long addr, long end, long cpuFlags) {
    if (((range.defaultFlags() | range.pfnFlagsMask()) & REQ_FAULT) == 0) {
      return 0;
    }
    int required = 0;
    for (long a = addr; Long.compareUnsigned(a, end) < 0; a += SimMm.PAGE_SIZE) {
      required |= needFault(range, index(range, a), cpuFlags);
      if (required == NEED_ALL) {
        break;
      }
    }
    return required;
  }

  private static void fill(HmmRange range, long addr, long end, long value) {
    for (long a = addr; Long.compareUnsigned(a, end) < 0; a += SimMm.PAGE_SIZE) {
      out(range, index(range, a), value);
    }
  }

  private static void out(HmmRange range, int i, long value) {
    long[] pfns = range.hmmPfns();
    pfns[i] = (pfns[i] & range.layout().stickyMask()) | value;
  }

  private static int index(HmmRange range, long addr) {
    return (int) ((addr - range.start()) >>> SimMm.PAGE_SHIFT);
  }

  private @Nullable Vma firstVmaFrom(long addr) {
    Vma v = s.findVma(addr);
    if (v != null) {
      return v;
    }
    var e = s.vmas.ceilingEntry(addr);
    return e == null ? null : e.getValue();
  }

  private static long minUnsigned(long a, long b) {
    return Long.compareUnsigned(a, b) <= 0 ? a : b;
  }
}
