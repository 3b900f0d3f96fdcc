package io.mmulab.sim.mm;

import io.mmulab.sim.check.CoherencyChecker;

/**
 * One CPU page-table entry (immutable; a change installs a new value under the page-table lock). An
 * absent entry is {@code null} ({@code pte_none}). Values compare by value, like {@code pte_same}.
 */
sealed interface Pte {
  /** The frame the checker considers mapped at this address, or {@link CoherencyChecker#NO_PFN}. */
  long checkerPfn();

  /** Whether the checker considers the mapping writable. */
  boolean checkerWritable();

  /** What a present entry maps. */
  enum PageKind {
    /** An anonymous page (private memory, or a copy-on-write copy of a file page). */
    ANON,
    /** A page-cache page of a file or of shared anonymous memory. */
    FILE,
    /** The shared zero page (read-only). */
    ZERO,
    /** A normal page inserted into a mixed mapping by a driver ({@code vm_insert_page}). */
    INSERTED,
    /** A raw pfn without a page ({@code pte_special}): no reference held. */
    SPECIAL
  }

  /**
   * A present entry.
   *
   * @param pfn the frame
   * @param kind what it maps
   * @param writable the write bit (hidden while {@code protnone})
   * @param dirty the dirty bit
   * @param exclusive for {@link PageKind#ANON}: the page is mapped only here ({@code
   *     PageAnonExclusive}); fork clears it in both address spaces
   * @param protnone inaccessible ({@code PROT_NONE} or a NUMA hinting entry)
   * @param lazyfree after {@code MADV_FREE}: reclaim may discard the page while it stays clean
   * @param huge part of a huge mapping (every one of its entries has it)
   * @param order the huge mapping's order: 9 for a 2 MiB mapping (transparent or hugetlb), 18 for a
   *     1 GiB hugetlb mapping, 0 for a base page
   */
  record Present(
      long pfn,
      PageKind kind,
      boolean writable,
      boolean dirty,
      boolean exclusive,
      boolean protnone,
      boolean lazyfree,
      boolean huge,
      int order)
      implements Pte {

    public Present {
      if (huge != (order != 0)) {
        throw new IllegalArgumentException("huge " + huge + " with order " + order);
      }
    }

    /** A base entry, or an entry of a 2 MiB mapping. */
    Present(
        long pfn,
        PageKind kind,
        boolean writable,
        boolean dirty,
        boolean exclusive,
        boolean protnone,
        boolean lazyfree,
        boolean huge) {
      this(
          pfn,
          kind,
          writable,
          dirty,
          exclusive,
          protnone,
          lazyfree,
          huge,
          huge ? PageTable.HPAGE_ORDER : 0);
    }

    static Present anon(long pfn, boolean writable, boolean dirty) {
      return new Present(pfn, PageKind.ANON, writable, dirty, true, false, false, false);
    }

    static Present of(long pfn, PageKind kind, boolean writable, boolean dirty) {
      return new Present(pfn, kind, writable, dirty, false, false, false, false);
    }

    /** True if the entry holds a reference on its frame (everything but zero page and raw pfn). */
    boolean holdsReference() {
      return kind != PageKind.ZERO && kind != PageKind.SPECIAL;
    }

    boolean accessible() {
      return !protnone;
    }

    Present withWritable(boolean w) {
      return new Present(pfn, kind, w, dirty, exclusive, protnone, lazyfree, huge, order);
    }

    Present withDirty(boolean d) {
      return new Present(
          pfn, kind, writable, d, exclusive, protnone, d ? false : lazyfree, huge, order);
    }

    Present withExclusive(boolean e) {
      return new Present(pfn, kind, writable, dirty, e, protnone, lazyfree, huge, order);
    }

    Present withProtnone(boolean p) {
      return new Present(pfn, kind, writable, dirty, exclusive, p, lazyfree, huge, order);
    }

    Present withLazyfree(boolean l) {
      return new Present(pfn, kind, writable, dirty, exclusive, protnone, l, huge, order);
    }

    /** The entry as part of a 2 MiB mapping ({@code true}) or as a base page. */
    Present withHuge(boolean h) {
      return new Present(pfn, kind, writable, dirty, exclusive, protnone, lazyfree, h);
    }

    @Override
    public long checkerPfn() {
      return pfn;
    }

    @Override
    public boolean checkerWritable() {
      return writable && !protnone;
    }
  }

  /**
   * A swapped-out anonymous page.
   *
   * @param slot the swap slot holding its contents (and possibly the page, in the swap cache)
   * @param exclusive the page was exclusive to this entry when swapped out
   */
  record Swap(SwapSpace.Slot slot, boolean exclusive) implements Pte {
    @Override
    public long checkerPfn() {
      return CoherencyChecker.NO_PFN;
    }

    @Override
    public boolean checkerWritable() {
      return false;
    }
  }

  /**
   * A page that lives in device-private memory; a CPU access faults it back through its pagemap.
   * Holds one reference on the device frame.
   *
   * @param pfn the device frame
   * @param pagemap its device memory
   * @param writable the entry allows writes once migrated back / to the owner's device
   * @param huge part of a 2 MiB device page (a PMD-level device-private entry; every one of its 512
   *     entries has it, and a change to part of the block splits it first)
   */
  record DevicePrivate(long pfn, DevicePagemap pagemap, boolean writable, boolean huge)
      implements Pte {
    DevicePrivate withHuge(boolean h) {
      return new DevicePrivate(pfn, pagemap, writable, h);
    }

    @Override
    public long checkerPfn() {
      return pfn;
    }

    @Override
    public boolean checkerWritable() {
      return writable;
    }
  }

  /**
   * A page made exclusive to a device ({@code make_device_exclusive}); a CPU access restores the
   * original entry with a CLEAR invalidation. Holds the mapping's reference.
   *
   * @param pfn the page
   * @param owner who made it exclusive
   * @param writable the original entry was writable
   * @param dirty the original entry was dirty
   */
  record DeviceExclusive(long pfn, Object owner, boolean writable, boolean dirty) implements Pte {
    @Override
    public long checkerPfn() {
      return pfn;
    }

    @Override
    public boolean checkerWritable() {
      return writable;
    }
  }

  /**
   * A page being migrated ({@code migrate_vma_*} between setup and finalize). Holds the source's
   * mapping reference. Faults, GUP and {@code hmmRangeFault} wait for the migration to end.
   *
   * @param migration the migration
   * @param index the page's index in it
   */
  record Migration(MigrateVma migration, int index) implements Pte {
    @Override
    public long checkerPfn() {
      return CoherencyChecker.NO_PFN;
    }

    @Override
    public boolean checkerWritable() {
      return false;
    }
  }
}
