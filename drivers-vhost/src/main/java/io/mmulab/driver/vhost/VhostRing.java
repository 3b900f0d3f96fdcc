package io.mmulab.driver.vhost;

/**
 * The three parts of a split virtqueue's metadata in the VMM's memory (kernel {@code
 * VHOST_ADDR_DESC}, {@code VHOST_ADDR_AVAIL}, {@code VHOST_ADDR_USED}). The worker only reads the
 * descriptor table and the avail ring and writes the used ring, so only the used ring is mapped
 * writable.
 */
public enum VhostRing {
  /** The descriptor table: one entry of (buffer address, length) per descriptor. */
  DESC(false),
  /** The avail ring: the index the guest advances and the heads it posted. */
  AVAIL(false),
  /** The used ring: the index the worker advances and the (head, length) it completed. */
  USED(true);

  private final boolean writable;

  VhostRing(boolean writable) {
    this.writable = writable;
  }

  /**
   * Tells whether the worker writes this ring.
   *
   * @return true for {@link #USED}
   */
  public boolean writable() {
    return writable;
  }
}
