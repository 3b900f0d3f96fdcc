package io.mmulab.sim.mm;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.mm.Pte.PageKind;
import io.mmulab.sim.mm.Pte.Present;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;

/**
 * Kernel {@code dup_mmap} / {@code copy_page_range}: every VMA is copied to the child; page tables
 * are copied only where the kernel does ({@code vma_needs_copy}: raw pfn or mixed mappings, and
 * private mappings that have anonymous pages); shared mappings and never-written private ones are
 * refaulted by the child. For a private (copy-on-write) mapping the copy runs inside a
 * PROTECTION_PAGE invalidation of the parent's whole VMA: writable entries become read-only in
 * both, anonymous pages lose exclusivity, except a pinned exclusive page, which the child gets a
 * copy of while the parent keeps it writable (the kernel's {@code copy_present_page}). Device-
 * exclusive entries are restored first; device-private entries are shared read-only.
 *
 * <p>The parent's mmap lock is held for write by the caller, the child's is taken here. The ptl of
 * the parent is taken before the child's.
 */
final class Forker {
  private final SimMm parent;

  Forker(SimMm parent) {
    this.parent = parent;
  }

  void copyInto(SimMm child) throws ErrnoException {
    parent.requireMmapWriteLock("fork");
    child.mm.mmapLock().downWrite();
    try {
      for (Vma v : List.copyOf(parent.vmas.values())) {
        Vma cv = v.forChild();
        child.vmas.put(cv.start(), cv);
        if (cv.file() != null) {
          cv.file().mapped();
        }
        if (!(v.isPfnMap() || v.isMixedMap() || (!v.isShared() && v.anonVma().isSet()))) {
          continue;
        }
        copyVma(v, child);
      }
    } finally {
      child.mm.mmapLock().upWrite();
    }
  }

  private void copyVma(Vma v, SimMm child) throws ErrnoException {
    boolean cow = v.isCow();
    ArrayDeque<Long> spare = new ArrayDeque<>();
    if (cow && v.isHugetlb()) {
      // Simplification: hugetlb pages are shared copy-on-write even when pinned (the kernel copies
      // a pinned one for the child at once); they are never split.
      parent.invalidate(
          MmuNotifierRange.of(parent.mm, MmuNotifierEvent.PROTECTION_PAGE, v.start(), v.end()),
          "fork",
          null,
          d -> copyEntries(v, child, true, spare));
    } else if (cow) {
      // Simplification: a huge mapping holding a pinned page is split before the copy (the kernel
      // splits it inside the copy loop); pinned exclusive pages get their copies allocated here.
      for (long block : parent.hugeBlocksIn(v.start(), v.end())) {
        if (pinnedPages(block, block + PageTable.HPAGE_SIZE) > 0) {
          parent.splitHugeBlock(block);
        }
      }
      int pinned = pinnedPages(v.start(), v.end());
      try {
        for (int i = 0; i < pinned; i++) {
          spare.add(parent.memory.alloc(child.owner("fork copy", v.start())));
        }
      } catch (ErrnoException e) {
        spare.forEach(parent.memory::put);
        throw e;
      }
      parent.invalidate(
          MmuNotifierRange.of(parent.mm, MmuNotifierEvent.PROTECTION_PAGE, v.start(), v.end()),
          "fork",
          null,
          d -> copyEntries(v, child, true, spare));
    } else {
      SpinLock ptl = parent.pt.ptl();
      ptl.lock();
      try {
        copyEntries(v, child, false, spare);
      } finally {
        ptl.unlock();
      }
    }
    spare.forEach(parent.memory::put);
  }

  private int pinnedPages(long from, long to) {
    int n = 0;
    SpinLock ptl = parent.pt.ptl();
    ptl.lock();
    try {
      for (Map.Entry<Long, Pte> e : parent.pt.entries(from, to)) {
        if (e.getValue() instanceof Present p
            && p.kind() == PageKind.ANON
            && p.exclusive()
            && parent.memory.pincount(p.pfn()) > 0) {
          n++;
        }
      }
    } finally {
      ptl.unlock();
    }
    return n;
  }

  /** Copies the entries of {@code v}; the parent's ptl is held. */
  private void copyEntries(Vma v, SimMm child, boolean cow, ArrayDeque<Long> spare) {
    SpinLock childPtl = child.pt.ptl();
    childPtl.lock();
    try {
      for (Map.Entry<Long, Pte> e : parent.pt.entries(v.start(), v.end())) {
        long va = e.getKey();
        Pte pte = e.getValue();
        if (pte instanceof Pte.DeviceExclusive x) {
          // Restored as a present entry first (kernel try_restore_exclusive_pte), covered by the
          // PROTECTION_PAGE window.
          boolean w = x.writable() && v.isWritable();
          pte = new Present(x.pfn(), PageKind.ANON, w, w || x.dirty(), true, false, false, false);
          parent.pt.set(va, pte);
        }
        if (pte instanceof Present p) {
          copyPresent(v, child, cow, spare, va, p);
        } else if (pte instanceof Pte.Swap sw) {
          parent.machine.swap().duplicate(sw.slot());
          Pte.Swap shared = new Pte.Swap(sw.slot(), false);
          parent.pt.set(va, shared);
          child.pt.set(va, shared);
        } else if (pte instanceof Pte.DevicePrivate dp) {
          parent.memory.get(dp.pfn());
          Pte.DevicePrivate copy =
              new Pte.DevicePrivate(dp.pfn(), dp.pagemap(), dp.writable() && !cow, dp.huge());
          parent.pt.set(va, copy);
          child.pt.set(va, copy);
        } else if (pte instanceof Pte.Migration) {
          throw new IllegalStateException(
              "fork of "
                  + parent
                  + " met a migration entry at 0x"
                  + Long.toHexString(va)
                  + ": migrations must be finalized before the mmap lock is dropped");
        }
      }
    } finally {
      childPtl.unlock();
    }
  }

  private void copyPresent(
      Vma v, SimMm child, boolean cow, ArrayDeque<Long> spare, long va, Present p) {
    if (p.kind() == PageKind.ANON
        && cow
        && p.exclusive()
        && parent.memory.pincount(p.pfn()) > 0
        && !spare.isEmpty()) {
      long copy = spare.poll();
      parent.memory.copy(p.pfn(), copy);
      child.pt.set(va, Present.anon(copy, v.isWritable(), true));
      return;
    }
    if (p.holdsReference()) {
      parent.memory.get(p.pfn());
    }
    Present shared = p;
    if (p.kind() == PageKind.ANON) {
      shared = shared.withExclusive(false);
    }
    if (cow && p.writable()) {
      shared = shared.withWritable(false);
    }
    if (!shared.equals(p)) {
      parent.pt.set(va, shared);
    }
    child.pt.set(va, v.isShared() ? shared.withDirty(false) : shared);
  }
}
