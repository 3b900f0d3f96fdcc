package io.mmulab.driver.radeon;

import io.mmulab.api.ErrnoException;

/**
 * The hardware and memory a radeon userptr protocol ({@link RadeonUserptr}) drives: GUP pins of a
 * BO's pages ({@code radeon_ttm_tt_pin_userptr}), the GART binding ({@code
 * radeon_ttm_backend_bind}), the BO's fences ({@code dma_resv}) and where subscriptions and
 * callbacks are reported. {@link RadeonSimGart} backs it with the simulated GPU, VM, physical
 * memory and coherency checker; the Lincheck test backs it with one page and one GART entry.
 *
 * <p>Calls marked "caller holds {@code bo.reserve}" are made under the BO reservation only.
 */
interface RadeonGart {
  /**
   * GUP of the BO's pages with a pin, under the mmap lock for read and under no driver lock. All or
   * nothing.
   *
   * @param bo the BO
   * @param write whether a writable pin
   * @return the pinned frames, one per page
   * @throws ErrnoException {@code EFAULT} when a page cannot be pinned (none stays pinned)
   */
  long[] pinUserPages(RadeonBo bo, boolean write) throws ErrnoException;

  /**
   * Drops pins taken by {@link #pinUserPages} and not handed to {@link #bind}.
   *
   * @param pfns the frames
   * @param count how many of them
   */
  void unpin(long[] pfns, int count);

  /**
   * Whether the BO is bound in the GART ({@code ttm->state == tt_bound}); a lockless peek.
   *
   * @param bo the BO
   * @return whether bound
   */
  boolean bound(RadeonBo bo);

  /**
   * Whether the BO holds pinned pages; caller holds {@code bo.reserve}.
   *
   * @param bo the BO
   * @return whether it has pages
   */
  boolean hasPages(RadeonBo bo);

  /**
   * Takes the pinned pages over and binds them into the GART; caller holds {@code bo.reserve}.
   *
   * @param bo the BO
   * @param pfns the pinned frames
   * @param write whether the binding is writable
   */
  void bind(RadeonBo bo, long[] pfns, boolean write);

  /**
   * Waits for every fence of the BO with no timeout ({@code MAX_SCHEDULE_TIMEOUT}); caller holds
   * {@code bo.reserve}.
   *
   * @param bo the BO
   */
  void waitIdle(RadeonBo bo);

  /**
   * Unbinds the BO from the GART (PTEs cleared, TLB flushed: spins, never sleeps) and unpins its
   * pages; caller holds {@code bo.reserve}.
   *
   * @param bo the BO
   * @return how many pages were unpinned (0 if the BO held none)
   */
  int unbind(RadeonBo bo);

  /**
   * Reports a subscription over {@code [start, end)}.
   *
   * @param subscription its name
   * @param start first address
   * @param end exclusive end ({@code -1}: the whole address space)
   */
  void subscribed(String subscription, long start, long end);

  /**
   * Reports a subscription removed.
   *
   * @param subscription its name
   */
  void unsubscribed(String subscription);

  /**
   * Reports an invalidate callback entered for {@code [start, end)}.
   *
   * @param subscription its subscription
   * @param start first address
   * @param end exclusive end
   */
  void callbackEntered(String subscription, long start, long end);

  /**
   * Reports an invalidate callback returned successfully.
   *
   * @param subscription its subscription
   * @param start first address
   * @param end exclusive end
   * @param seq the invalidation sequence (0 for a classic notifier)
   */
  void callbackReturned(String subscription, long start, long end, long seq);
}
