package io.mmulab.sim.mm;

import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.mm.Pte.PageKind;
import io.mmulab.sim.mm.Pte.Present;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Page reclaim of one address space's range, as {@code MADV_PAGEOUT} drives it: {@code
 * try_to_unmap} of each page inside a CLEAR invalidation of that page (of the whole 2 MiB block for
 * a huge page, split by the unmap), then, after the end, write-out and freeing if nobody else holds
 * the page.
 *
 * <ul>
 *   <li>Anonymous exclusive page: replaced by a swap entry; the page stays in the swap cache until
 *       only the cache references it, then its contents go to the swap slot and the frame is freed.
 *       A fault brings it back (same frame from the cache, or a new one with the same contents).
 *   <li>Clean {@code MADV_FREE}d page: discarded (the entry is cleared; the next read sees zeros).
 *   <li>File page (private or shared mapping) mapped only here: the entry is cleared, the page
 *       written back if dirty and dropped from the page cache if nobody else references it.
 * </ul>
 *
 * <p>Skipped (not reclaimed): the zero page, special and inserted pages, pages shared with another
 * address space (the simulator has no reverse map, so it cannot unmap them everywhere), pinned
 * anonymous pages ({@code try_to_unmap} refuses them) and non-present entries. The mmap lock is
 * held for read by the caller; it stands in for the reverse-map locks the kernel takes.
 */
final class Reclaimer {
  private enum Mode {
    SWAP,
    DISCARD,
    FILE
  }

  private final SimMm s;

  Reclaimer(SimMm s) {
    this.s = s;
  }

  int reclaim(long start, long end) {
    int n = 0;
    for (Vma v : s.vmasIn(start, end)) {
      if (v.isPfnMap() || v.isMixedMap() || v.isHugetlb()) {
        continue;
      }
      long from = Math.max(start, v.start());
      long to = Math.min(end, v.end());
      s.splitPartialHugeBlocks(from, to);
      for (long va = from; va < to; va += SimMm.PAGE_SIZE) {
        long block = va & PageTable.HPAGE_MASK;
        if (isHuge(block)) {
          n += reclaimHuge(block);
          va = block + PageTable.HPAGE_SIZE - SimMm.PAGE_SIZE;
        } else {
          n += reclaimPage(v, va);
        }
      }
    }
    return n;
  }

  private boolean isHuge(long block) {
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      return s.pt.isHugeBlock(block);
    } finally {
      ptl.unlock();
    }
  }

  private @Nullable Mode mode(Present p) {
    if (p.kind() == PageKind.ANON) {
      if (!p.exclusive() || s.memory.pincount(p.pfn()) > 0) {
        return null;
      }
      return p.lazyfree() && !p.dirty() ? Mode.DISCARD : Mode.SWAP;
    }
    if (p.kind() == PageKind.FILE && s.memory.refcount(p.pfn()) <= 2) {
      return Mode.FILE;
    }
    return null;
  }

  private int reclaimPage(Vma vma, long va) {
    Pte e;
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      e = s.pt.get(va);
    } finally {
      ptl.unlock();
    }
    s.rt.yieldPoint("reclaim: after page lookup");
    if (!(e instanceof Present p) || p.huge()) {
      return 0;
    }
    Mode mode = mode(p);
    if (mode == null) {
      return 0;
    }
    SwapSpace.Slot[] slot = {null};
    boolean[] done = {false};
    s.invalidate(
        MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, va, va + SimMm.PAGE_SIZE),
        "reclaim",
        null,
        d -> {
          if (!p.equals(s.pt.get(va))) {
            return;
          }
          slot[0] = unmap(vma, va, p, mode, d);
          done[0] = true;
        });
    if (slot[0] != null) {
      s.machine.swap().writeback(slot[0]);
    } else if (done[0] && mode == Mode.FILE) {
      vma.backingFile().evict(vma.fileIndex(va), p.pfn());
    }
    return done[0] ? 1 : 0;
  }

  /** Unmaps one page; ptl held. Returns the swap slot for a swapped page. */
  private SwapSpace.@Nullable Slot unmap(
      @Nullable Vma vma, long va, Present p, Mode mode, SimMm.Deferred d) {
    switch (mode) {
      case SWAP -> {
        SwapSpace.Slot slot = s.machine.swap().add(p.pfn());
        s.pt.set(va, new Pte.Swap(slot, true));
        return slot;
      }
      case DISCARD -> {
        s.pt.set(va, null);
        long pfn = p.pfn();
        d.add(() -> s.memory.put(pfn));
        return null;
      }
      case FILE -> {
        s.release(Objects.requireNonNull(vma, "a file page is unmapped with its VMA"), va, p, d);
        s.pt.set(va, null);
        return null;
      }
    }
    throw new AssertionError(mode);
  }

  /** A huge page: all or nothing, in one CLEAR of the block. */
  private int reclaimHuge(long block) {
    List<Map.Entry<Long, Pte>> snapshot;
    SpinLock ptl = s.pt.ptl();
    ptl.lock();
    try {
      snapshot = s.pt.entries(block, block + PageTable.HPAGE_SIZE);
    } finally {
      ptl.unlock();
    }
    s.rt.yieldPoint("reclaim: after page lookup");
    for (Map.Entry<Long, Pte> e : snapshot) {
      if (!(e.getValue() instanceof Present p) || !p.huge() || mode(p) == null) {
        return 0;
      }
    }
    List<SwapSpace.Slot> slots = new ArrayList<>();
    boolean[] done = {false};
    s.invalidate(
        MmuNotifierRange.of(s.mm, MmuNotifierEvent.CLEAR, block, block + PageTable.HPAGE_SIZE),
        "reclaim",
        null,
        d -> {
          for (Map.Entry<Long, Pte> e : snapshot) {
            if (!e.getValue().equals(s.pt.get(e.getKey()))
                || (mode((Present) e.getValue()) != Mode.SWAP
                    && mode((Present) e.getValue()) != Mode.DISCARD)) {
              return;
            }
          }
          for (Map.Entry<Long, Pte> e : snapshot) {
            Present p = (Present) e.getValue();
            Mode mode = Objects.requireNonNull(mode(p), "checked SWAP or DISCARD above");
            SwapSpace.Slot slot = unmap(null, e.getKey(), p, mode, d);
            if (slot != null) {
              slots.add(slot);
            }
          }
          s.pt.markSplit(block);
          done[0] = true;
        });
    for (SwapSpace.Slot slot : slots) {
      s.machine.swap().writeback(slot);
    }
    return done[0] ? PageTable.HPAGE_PAGES : 0;
  }
}
