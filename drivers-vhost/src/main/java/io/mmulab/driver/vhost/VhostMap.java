package io.mmulab.driver.vhost;

import io.mmulab.api.AddressSpace;
import org.jspecify.annotations.Nullable;

/**
 * A published direct map of one ring (kernel {@code struct vhost_map}): the frames behind the
 * ring's pages as the prefetch found them. No frame is pinned, so an access through a map that
 * outlived its invalidation reaches whatever the frame has become; every access is a device access
 * the coherency checker judges against the map's translation.
 */
final class VhostMap {
  final VhostRing ring;
  final VhostUaddr uaddr;
  private final long[] pfns;
  private final VhostDevice dev;
  private final @Nullable String subscription;

  /**
   * @param subscription the checker subscription whose callbacks alone invalidate the map, or null
   *     for any callback of the device
   */
  VhostMap(
      VhostDevice dev,
      @Nullable String subscription,
      VhostRing ring,
      VhostUaddr uaddr,
      long[] pfns) {
    this.dev = dev;
    this.subscription = subscription;
    this.ring = ring;
    this.uaddr = uaddr;
    this.pfns = pfns.clone();
  }

  private long pfn(long va) {
    return pfns[(int) ((va - uaddr.pageStart()) >>> AddressSpace.PAGE_SHIFT)];
  }

  long read(long va) {
    return dev.hw.mapRead(va, pfn(va));
  }

  void write(long va, long value) {
    dev.hw.mapWrite(va, pfn(va), value);
  }

  /** Tells the checker about every page of the map, in the section that publishes it. */
  void reportMapped() {
    for (int i = 0; i < pfns.length; i++) {
      long va = uaddr.pageStart() + ((long) i << AddressSpace.PAGE_SHIFT);
      dev.hw.mapped(subscription, va, pfns[i], ring.writable());
    }
  }

  void reportUnmapped() {
    dev.hw.unmapped(uaddr.pageStart(), uaddr.pageEnd());
  }

  boolean sharesPageWith(VhostMap o) {
    return Long.compareUnsigned(uaddr.pageStart(), o.uaddr.pageEnd()) < 0
        && Long.compareUnsigned(o.uaddr.pageStart(), uaddr.pageEnd()) < 0;
  }

  int pages() {
    return pfns.length;
  }
}
