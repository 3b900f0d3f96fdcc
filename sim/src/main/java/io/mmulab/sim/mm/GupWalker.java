package io.mmulab.sim.mm;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.mm.Pte.PageKind;
import io.mmulab.sim.mm.Pte.Present;
import org.jspecify.annotations.Nullable;

/**
 * {@code get_user_pages_remote} / {@code pin_user_pages_remote}: per page, find the VMA and check
 * its flags ({@code check_vma_flags}: no VMA, {@code VM_IO|VM_PFNMAP}, a write without {@code
 * VM_WRITE} or a read without {@code VM_READ} are {@code EFAULT}), look the entry up ({@code
 * follow_page}) and take a reference or a pin, or fault and look again. A pin of an anonymous page
 * that is not exclusive first unshares it ({@code gup_must_unshare}), so a pinned anonymous page is
 * never shared with a fork. Stops at the first failure and returns the count so far (the error if
 * none). {@code FOLL_LONGTERM} only matters for device-coherent pages, which are not long-term
 * pinnable: such a page is migrated to system memory first ({@code
 * check_and_migrate_movable_pages}); there are no movable zones and no file systems with dirty
 * tracking. The mmap lock is held by the caller.
 */
final class GupWalker {
  private static final int MAX_TRIES = 10_000;

  private final SimMm s;

  GupWalker(SimMm s) {
    this.s = s;
  }

  int getUserPages(long start, int nrPages, int gupFlags, long[] pfns) throws ErrnoException {
    int got = 0;
    for (int i = 0; i < nrPages; i++) {
      long va = start + ((long) i << SimMm.PAGE_SHIFT);
      try {
        pfns[i] = getOne(va, gupFlags, false);
      } catch (ErrnoException e) {
        if (got == 0) {
          throw e;
        }
        return got;
      }
      got++;
    }
    return got;
  }

  /** One page; {@code splitPmd} is {@code FOLL_SPLIT_PMD}. */
  long getOne(long va, int gupFlags, boolean splitPmd) throws ErrnoException {
    boolean write = (gupFlags & Gup.FOLL_WRITE) != 0;
    boolean pin = (gupFlags & Gup.FOLL_PIN) != 0;
    boolean longterm = (gupFlags & Gup.FOLL_LONGTERM) != 0;
    Vma vma = s.findVma(va);
    if (vma == null) {
      throw efault(va, "no mapping");
    }
    if (vma.isPfnMap()) {
      throw efault(va, "VM_IO|VM_PFNMAP mapping " + vma);
    }
    if (write ? !vma.isWritable() : !vma.isReadable()) {
      throw efault(va, (write ? "write" : "read") + " not allowed by " + vma);
    }
    for (int tries = 0; tries < MAX_TRIES; tries++) {
      if (splitPmd) {
        s.splitHugeBlock(va & PageTable.HPAGE_MASK);
      }
      boolean got = false;
      long pfn = -1;
      @Nullable DevicePagemap unpinnable = null;
      SpinLock ptl = s.pt.ptl();
      ptl.lock();
      try {
        Pte e = s.pt.get(va);
        if (longterm && e instanceof Present c && c.kind() == PageKind.ANON) {
          unpinnable = s.machine.deviceCoherentPages().pagemapOf(c.pfn());
        }
        if (unpinnable == null
            && e instanceof Present p
            && p.accessible()
            && (!write || p.writable())
            && !(pin && p.kind() == PageKind.ANON && !p.exclusive())) {
          if (p.kind() == PageKind.SPECIAL) {
            throw efault(va, "special pfn entry in " + vma);
          }
          if (write && !p.dirty()) {
            s.pt.set(va, p.withDirty(true));
          }
          if (pin) {
            s.memory.pin(p.pfn());
          } else {
            s.memory.get(p.pfn());
          }
          pfn = p.pfn();
          got = true;
        }
      } finally {
        ptl.unlock();
      }
      long found = pfn;
      s.rt.journal(() -> lookup("gup", va, found));
      s.rt.yieldPoint("gup: after page lookup");
      if (got) {
        return pfn;
      }
      if (unpinnable != null) {
        if (MigrateVma.migrateCoherentToRam(s, va, unpinnable) == 0) {
          throw new ErrnoException(
              Errno.EBUSY,
              "gup at 0x" + Long.toHexString(va) + " in " + s + ": coherent page could not move");
        }
        continue;
      }
      s.faults.fault(vma, va, write, pin && !write);
    }
    throw new IllegalStateException(
        "gup at 0x" + Long.toHexString(va) + " in " + s + " made no progress in " + MAX_TRIES);
  }

  private ErrnoException efault(long va, String why) {
    return new ErrnoException(
        Errno.EFAULT, "gup at 0x" + Long.toHexString(va) + " in " + s + ": " + why);
  }

  /** The journal's text for a page lookup: what a race report calls the lookup. */
  static String lookup(String who, long va, long pfn) {
    return who
        + " lookup 0x"
        + Long.toHexString(va)
        + (pfn < 0 ? ": not present" : " -> pfn " + pfn);
  }
}
