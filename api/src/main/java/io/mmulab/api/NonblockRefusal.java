package io.mmulab.api;

/**
 * What the core does when a classic notifier refuses a non-blockable start (returns false from
 * {@link MmuNotifier#invalidateRangeStart} for a range that may not sleep). In every rule all
 * classic starts are called, the start fails with {@link Errno#EAGAIN} and the invalidator must not
 * call end; the rules differ in the ends the core calls itself and in the interval side's window,
 * which the interval subscriptions opened before the classic notifiers were called.
 *
 * <p>Selected per address space; an address space starts with {@link #END_ALL_CLOSE_WINDOW}. A port
 * is tested under a kernel's exact behaviour by selecting {@link #MAINLINE} or {@link #LINUX_5_5}.
 */
public enum NonblockRefusal {
  /**
   * Linux 5.5: no end is called and the interval window stays open, so the sequence stays odd and
   * every {@code readBegin} on a subscription the window hit sleeps for good.
   */
  LINUX_5_5,
  /**
   * Mainline since 5.13: {@link MmuNotifier#invalidateRangeEnd} is called on every classic notifier
   * (a notifier that can refuse must not implement end; the core warns if it does); the interval
   * window stays open, as in 5.5.
   */
  MAINLINE,
  /**
   * mmulab's default: the classic ends as in {@link #MAINLINE}, and the interval window is closed
   * again, so a refusal leaves no window open that nobody will end. This is a deliberate fix of the
   * kernel, which returns without ending the window the interval side opened.
   */
  END_ALL_CLOSE_WINDOW
}
