package io.mmulab.sim.nic;

import io.mmulab.api.AddressSpace;
import io.mmulab.sim.dev.DeviceMmu;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * An explicit memory region, or a child of an implicit one: a translation table over {@code [start,
 * end)} (index {@code i} translates the page at {@code start + i * PAGE_SIZE}), updated by the
 * driver's UMR operations ({@link #umrUpdate}, {@link #umrZap}). A UMR is synchronous with the
 * NIC's later accesses: when {@link #umrZap} returns, no access in flight or to come uses a zapped
 * entry. An access to an empty entry (or a write to a read-only one) is a page fault.
 *
 * <p>A child shares its parent's table (the parent's KSM entries point at the children), limited to
 * its own span; {@link #subscription()} names, for the coherency checker, the notifier whose
 * callback alone may invalidate the entries this region writes (null: any callback of the device).
 *
 * <p>Locking: the table has its own lock ({@link DeviceMmu}); the driver serializes updates and
 * zaps with its update lock.
 */
public final class NicMr implements NicMemoryRegion {
  private final int key;
  private final long start;
  private final long end;
  private final boolean writable;
  private final DeviceMmu mmu;
  private final @Nullable NicImplicitMr parent;
  private final @Nullable String subscription;

  NicMr(
      int key,
      long start,
      long end,
      boolean writable,
      DeviceMmu mmu,
      @Nullable NicImplicitMr parent,
      @Nullable String subscription) {
    this.key = key;
    this.start = start;
    this.end = end;
    this.writable = writable;
    this.mmu = mmu;
    this.parent = parent;
    this.subscription = subscription;
  }

  @Override
  public int key() {
    return key;
  }

  @Override
  public long start() {
    return start;
  }

  @Override
  public long end() {
    return end;
  }

  @Override
  public boolean writable() {
    return writable;
  }

  @Override
  public DeviceMmu mmu() {
    return mmu;
  }

  /**
   * Returns the implicit region this is a child of.
   *
   * @return the parent, empty for an explicit region
   */
  public Optional<NicImplicitMr> parent() {
    return Optional.ofNullable(parent);
  }

  /**
   * Returns the checker's name of the notifier that covers this region's entries.
   *
   * @return the name, or null if not declared
   */
  public @Nullable String subscription() {
    return subscription;
  }

  /**
   * Returns the number of pages the region covers (its table's size).
   *
   * @return the page count
   */
  public long pages() {
    return (end - start) >>> AddressSpace.PAGE_SHIFT;
  }

  /**
   * Writes the entry of the page of {@code va} (a UMR of one translation): the NIC's next access
   * there goes to {@code dmaAddress}.
   *
   * @param va an address inside the region
   * @param dmaAddress a DMA address from {@link SimNic#dmaMap}
   * @param writableEntry whether the NIC may write through it
   * @throws IllegalArgumentException if {@code va} is outside the region, the DMA address is not a
   *     page's, or a writable entry is asked of a read-only region
   */
  public void umrUpdate(long va, long dmaAddress, boolean writableEntry) {
    if (!covers(va, 1)) {
      throw new IllegalArgumentException("UMR at 0x" + Long.toHexString(va) + " outside " + this);
    }
    if (writableEntry && !writable) {
      throw new IllegalArgumentException("writable UMR entry in read-only " + this);
    }
    mmu.map(va, SimNic.pfnOf(dmaAddress), writableEntry, subscription);
  }

  /**
   * Zaps every entry of {@code [from, to)} inside the region (a UMR that clears translations) and
   * waits until no NIC access uses one of them.
   *
   * @param from first address (clamped to the region)
   * @param to exclusive end (unsigned, clamped to the region)
   * @return how many entries were present
   */
  public int umrZap(long from, long to) {
    long lo = Long.compareUnsigned(from, start) < 0 ? start : from;
    long hi = Long.compareUnsigned(to, end) > 0 ? end : to;
    if (Long.compareUnsigned(lo, hi) >= 0) {
      return 0;
    }
    int n = mmu.unmapRange(lo, hi);
    mmu.flushTlb(lo, hi);
    return n;
  }

  /**
   * Reads the entry of the page of {@code va}.
   *
   * @param va an address inside the region
   * @return the entry, empty if none
   */
  public Optional<NicMttEntry> mtt(long va) {
    DeviceMmu.Translation t = mmu.lookup(va);
    return t == null
        ? Optional.empty()
        : Optional.of(new NicMttEntry(SimNic.dmaAddressOf(t.pfn()), t.writable()));
  }

  @Override
  public String toString() {
    return (parent == null ? "mr " : "child mr ")
        + key
        + " [0x"
        + Long.toHexString(start)
        + ", 0x"
        + Long.toHexString(end)
        + ") on "
        + mmu.deviceId();
  }
}
