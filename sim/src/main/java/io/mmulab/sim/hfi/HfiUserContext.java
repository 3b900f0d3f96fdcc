package io.mmulab.sim.hfi;

import io.mmulab.api.ErrnoException;

/**
 * What user space sees of the hfi1 driver's expected-receive interface on one open context: the TID
 * ioctls and the event bit, as {@link Psm} uses them.
 */
public interface HfiUserContext {
  /**
   * {@code TID_UPDATE}: pins the buffer {@code [va, va + pages * PAGE_SIZE)} and programs one TID
   * per page.
   *
   * @param va the buffer, page-aligned
   * @param pages its length in pages, at least 1
   * @return the TIDs, in page order
   * @throws ErrnoException as the setup fails ({@code EFAULT}: not mapped; {@code EBUSY}: an
   *     invalidation raced the setup; {@code ENOMEM}: no free TID)
   */
  int[] tidUpdate(long va, int pages) throws ErrnoException;

  /**
   * {@code TID_FREE}: unprograms the TIDs and unpins their pages; TIDs not programmed for this
   * context are skipped.
   *
   * @param tids the TIDs
   */
  void tidFree(int[] tids);

  /**
   * Tells whether the context's TID-invalidated event bit is up.
   *
   * @return true if {@link #tidInvalRead} has TIDs to report
   */
  boolean tidInvalPending();

  /**
   * {@code TID_INVAL_READ}: returns the TIDs invalidated since the last call and clears the event
   * bit.
   *
   * @return the TIDs, possibly none
   */
  int[] tidInvalRead();
}
