package io.mmulab.driver.hfi1;

import io.mmulab.api.ErrnoException;

/**
 * What the driver's caches need of the machine on one side of the chip (receive or send): page
 * pins, and the reports the coherency checker needs of its notifiers and translations. The
 * simulated machine implements it ({@link Hfi1SimHw}); the Lincheck test, with one page.
 */
interface Hfi1Hw {
  /**
   * Pins the page at {@code va} long-term ({@code pin_user_pages}, writable if asked).
   *
   * @param va the page
   * @param write whether the device will write it
   * @return the pinned frame
   * @throws ErrnoException {@code EFAULT} if it is not mapped or the process is gone
   */
  long pin(long va, boolean write) throws ErrnoException;

  /** Drops a pin. */
  void unpin(long pfn);

  /** A notifier of this side now covers {@code [start, end)} ({@code end} -1: to the top). */
  void subscribed(String subscription, long start, long end);

  /** A notifier's {@code remove()} (or unregister) returned. */
  void unsubscribed(String subscription);

  /** An invalidate callback of {@code subscription} began. */
  void callbackEntered(String subscription, long start, long end);

  /** An invalidate callback of {@code subscription} is returning, its entries dealt with. */
  void callbackReturned(String subscription, long start, long end, long seq);

  /** The send side's cache maps {@code va} to {@code pfn}, protected by {@code subscription}. */
  void mapped(String subscription, long va, long pfn);

  /** The send side's cache no longer maps {@code va}. */
  void unmapped(long va);

  /** Begins one device operation (a send) and returns its checker token. */
  long beginOperation();
}
