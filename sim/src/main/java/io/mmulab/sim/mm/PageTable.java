package io.mmulab.sim.mm;

import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.MmStruct;
import io.mmulab.sim.check.CoherencyChecker;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongPredicate;
import org.jspecify.annotations.Nullable;

/**
 * The CPU page table of one address space: one {@link Pte} per base page, plus which 2 MiB blocks
 * have a PTE table ({@code pmd} pointing to a table) and which 1 GiB regions have a PMD table
 * ({@code pud} populated). A block whose 512 entries carry {@link Pte.Present#huge()} is a PMD
 * leaf; a block with neither a PTE table nor a leaf is {@code pmd_none}.
 *
 * <p>Locking: everything here is guarded by {@link #ptl()}, the page-table lock (kernel {@code
 * pte_lockptr}, one per address space here), a spin lock. Every method but {@link #ptl()} requires
 * it held. It is never held across an invalidation's start or end, a callback, a sleep or a
 * sleeping lock; frames are allocated before taking it and the entry is re-checked afterwards (as
 * the kernel does with {@code pte_same}). Every change is reported to the checker inside the
 * section that makes it (the checker's timing contract). Lock order: ptl, then the parent's before
 * the child's during fork, then the machine's page lock, then physical memory's frame locks.
 */
final class PageTable {
  static final long HPAGE_SIZE = 1L << 21;
  static final long HPAGE_MASK = ~(HPAGE_SIZE - 1);
  static final int HPAGE_ORDER = 9;
  static final int HPAGE_PAGES = 1 << HPAGE_ORDER;
  static final long PUD_SIZE = 1L << 30;
  static final long PUD_MASK = ~(PUD_SIZE - 1);

  private final SpinLock ptl;
  private final MmStruct mm;
  private final CallbackFailures failures;
  private final String mmName;
  private final CoherencyChecker checker;
  private final TreeMap<Long, Pte> entries = new TreeMap<>();
  private final TreeSet<Long> pteTables = new TreeSet<>();
  private final TreeSet<Long> pudTables = new TreeSet<>();

  PageTable(SyncRuntime runtime, MmStruct mm, CoherencyChecker checker, CallbackFailures failures) {
    this.failures = failures;
    this.mmName = mm.name();
    this.ptl = runtime.newSpinLock(mmName + ".ptl");
    this.mm = mm;
    this.checker = checker;
  }

  SpinLock ptl() {
    return ptl;
  }

  @Nullable Pte get(long va) {
    assertLocked();
    return entries.get(va);
  }

  /**
   * Installs {@code pte} at {@code va} (null clears it), tells the checker if the frame or the
   * write permission it sees changed, and tells the classic notifiers' secondary TLBs if an entry
   * that was there changed (kernel {@code arch_invalidate_secondary_tlbs}, inside this lock).
   */
  void set(long va, @Nullable Pte pte) {
    assertLocked();
    Pte old = pte == null ? entries.remove(va) : entries.put(va, pte);
    long oldPfn = old == null ? CoherencyChecker.NO_PFN : old.checkerPfn();
    boolean oldW = old != null && old.checkerWritable();
    long newPfn = pte == null ? CoherencyChecker.NO_PFN : pte.checkerPfn();
    boolean newW = pte != null && pte.checkerWritable();
    if (oldPfn != newPfn || (newPfn != CoherencyChecker.NO_PFN && oldW != newW)) {
      checker.cpuPteChanged(mmName, va, oldPfn, newPfn, oldW, newW);
    }
    if (old != null && !old.equals(pte)) {
      try {
        mm.invalidateSecondaryTlbs(va, va + SimMm.PAGE_SIZE);
      } catch (RuntimeException | Error e) {
        failures.add(e); // the change stands; reported when the operation has completed
      }
    }
    if (pte != null) {
      pudTables.add(va & PUD_MASK);
      if (!(pte instanceof Pte.Present p && p.huge())) {
        pteTables.add(va & HPAGE_MASK);
      }
    }
  }

  /** A snapshot of the entries in {@code [start, end)}, ascending. */
  List<Map.Entry<Long, Pte>> entries(long start, long end) {
    assertLocked();
    return new ArrayList<>(entries.subMap(start, true, end, false).entrySet());
  }

  boolean isHugeBlock(long block) {
    assertLocked();
    return entries.get(block) instanceof Pte.Present p && p.huge();
  }

  boolean hasPteTable(long block) {
    assertLocked();
    return pteTables.contains(block);
  }

  /** True if the block has neither a PTE table nor a huge leaf ({@code pmd_none}). */
  boolean isPmdNone(long block) {
    return !hasPteTable(block) && !isHugeBlock(block);
  }

  /** A huge leaf became a PTE table. */
  void markSplit(long block) {
    assertLocked();
    pteTables.add(block);
  }

  boolean isPudPopulated(long pudStart) {
    assertLocked();
    return pudTables.contains(pudStart);
  }

  /**
   * Frees the tables no VMA needs any more (kernel {@code free_pgtables}): the PTE tables of 2 MiB
   * blocks and the PMD tables of 1 GiB regions for which {@code inUse} is false. Entries must be
   * gone already.
   */
  void freeTables(long start, long end, LongPredicate blockInUse, LongPredicate pudInUse) {
    assertLocked();
    removeUnused(pteTables, start & HPAGE_MASK, end, blockInUse);
    removeUnused(pudTables, start & PUD_MASK, end, pudInUse);
  }

  private static void removeUnused(TreeSet<Long> set, long from, long to, LongPredicate inUse) {
    NavigableSet<Long> sub = set.subSet(from, true, to, false);
    sub.removeIf(b -> !inUse.test(b));
  }

  /** Every entry, for exit and tests. */
  boolean isEmpty() {
    assertLocked();
    return entries.isEmpty();
  }

  private void assertLocked() {
    if (!ptl.isHeldByCurrentThread()) {
      throw new IllegalStateException(ptl.name() + " not held");
    }
  }
}
