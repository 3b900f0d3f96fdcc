package io.mmulab.driver.gntdev;

import io.mmulab.api.ErrnoException;

/**
 * What the variants need from the hypervisor and the checker: the grant table of the peer domain,
 * the unmap hypercalls, and the subscription and callback reports. {@link GntdevSimHypervisor} is
 * the simulated machine's; the Lincheck test supplies a one-page stand-in.
 */
interface GntdevHypervisor {
  /** The peer grants its frame {@code pfn}; returns the grant reference. */
  int grantForeignAccess(long pfn, boolean readOnly);

  /** The peer revokes the grant once its mapping is gone. */
  void endForeignAccess(int ref);

  /** The synchronous unmap: waits until the page is no longer in use. */
  void unmapGrant(long handle) throws ErrnoException;

  /**
   * The asynchronous unmap; never sleeps. True if unmapped now; false if queued, and {@code done}
   * runs later, after the unmap.
   */
  boolean unmapGrantAsync(long handle, Runnable done) throws ErrnoException;

  void subscribed(String subscription, String mm, long start, long end);

  void unsubscribed(String subscription);

  void callbackEntered(String subscription, String mm, long start, long end);

  void callbackReturned(String subscription, String mm, long start, long end, long seq);
}
