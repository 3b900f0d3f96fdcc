package io.mmulab.driver.vhost;

import io.mmulab.api.ErrnoException;
import org.jspecify.annotations.Nullable;

/**
 * The variant-specific half of the metadata acceleration: how maps are prefetched, how the worker
 * reads through them, how ring addresses move, and how invalidations reach them. Every method but
 * {@link #teardown} is called with the virtqueue's mutex held.
 */
interface VhostAccel {
  /** The worker's prefetch of one ring's map; leaves it unpublished when it cannot (slow path). */
  void prefetch(VhostRing r);

  /**
   * One word through the ring's published map.
   *
   * @param out receives the word read
   * @return false if no map is published: the caller copies through the page table instead
   */
  boolean access(VhostRing r, long va, boolean write, long value, long @Nullable [] out);

  /** {@code VHOST_SET_VRING_ADDR}: the rings move to new addresses. */
  void setVringAddr(VhostUaddr desc, VhostUaddr avail, VhostUaddr used) throws ErrnoException;

  /** Stops every callback and drops every map; called once, with no verb running. */
  void teardown();
}
