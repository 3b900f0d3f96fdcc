package io.mmulab.sim.mm;

import org.jspecify.annotations.Nullable;

/**
 * A snapshot of one CPU page-table entry, for tests, reports and drivers that inspect the CPU page
 * table (as a {@code PROTECTION_PAGE} subscriber must).
 *
 * @param type what the entry is
 * @param pfn the frame (present, device-private, device-exclusive), else -1
 * @param writable the write bit (present: hidden while {@code protnone})
 * @param dirty the dirty bit of a present entry
 * @param order the mapping's order (log2 of its base pages): 9 inside a 2 MiB mapping (transparent
 *     huge page, huge zero page or hugetlb), 18 inside a 1 GiB hugetlb mapping, else 0
 * @param anon the page is anonymous (present or device-exclusive entries)
 * @param exclusive an anonymous page mapped only here
 * @param protnone a present entry that is inaccessible ({@code PROT_NONE} or NUMA hinting)
 * @param owner the pagemap owner (device-private) or the exclusive owner (device-exclusive)
 */
public record PteView(
    Type type,
    long pfn,
    boolean writable,
    boolean dirty,
    int order,
    boolean anon,
    boolean exclusive,
    boolean protnone,
    @Nullable Object owner) {

  /** The kind of entry. */
  public enum Type {
    /** No entry ({@code pte_none}). */
    NONE,
    /** A present page. */
    PRESENT,
    /** The shared zero page (present, read-only). */
    ZERO,
    /** A raw pfn of a mixed or pfn mapping (present, no page). */
    SPECIAL,
    /** A swapped-out page. */
    SWAP,
    /** A page in device-private memory. */
    DEVICE_PRIVATE,
    /** A page exclusive to a device. */
    DEVICE_EXCLUSIVE,
    /** A page being migrated. */
    MIGRATION
  }

  /** The view of an absent entry. */
  static final PteView NONE =
      new PteView(Type.NONE, -1, false, false, 0, false, false, false, null);

  static PteView of(@Nullable Pte pte) {
    if (pte == null) {
      return NONE;
    }
    if (pte instanceof Pte.Present p) {
      Type t =
          switch (p.kind()) {
            case ZERO -> Type.ZERO;
            case SPECIAL -> Type.SPECIAL;
            case ANON, FILE, INSERTED -> Type.PRESENT;
          };
      return new PteView(
          t,
          p.pfn(),
          p.checkerWritable(),
          p.dirty(),
          p.order(),
          p.kind() == Pte.PageKind.ANON,
          p.exclusive(),
          p.protnone(),
          null);
    }
    if (pte instanceof Pte.Swap s) {
      return new PteView(Type.SWAP, -1, false, false, 0, true, s.exclusive(), false, null);
    }
    if (pte instanceof Pte.DevicePrivate d) {
      return new PteView(
          Type.DEVICE_PRIVATE,
          d.pfn(),
          d.writable(),
          false,
          d.huge() ? PageTable.HPAGE_ORDER : 0,
          true,
          true,
          false,
          d.pagemap().owner());
    }
    if (pte instanceof Pte.DeviceExclusive x) {
      return new PteView(
          Type.DEVICE_EXCLUSIVE, x.pfn(), x.writable(), x.dirty(), 0, true, true, false, x.owner());
    }
    Pte.Migration m = (Pte.Migration) pte;
    return new PteView(
        Type.MIGRATION, -1, false, false, 0, true, false, false, m.migration().owner());
  }

  /**
   * Returns the page shift of the mapping: {@code 12 + order}.
   *
   * @return 12, 21 or 30
   */
  public int pageShift() {
    return SimMm.PAGE_SHIFT + order;
  }

  /**
   * Tells whether the CPU can read through the entry without a fault.
   *
   * @return true for accessible present entries
   */
  public boolean isAccessible() {
    return (type == Type.PRESENT || type == Type.ZERO || type == Type.SPECIAL) && !protnone;
  }
}
