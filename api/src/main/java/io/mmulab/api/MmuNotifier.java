package io.mmulab.api;

/**
 * A classic whole-address-space notifier (kernel {@code struct mmu_notifier}), as the legacy
 * drivers used it before interval subscriptions existed. Every invalidation of the address space
 * reaches {@link #invalidateRangeStart} before its page tables change and {@link
 * #invalidateRangeEnd} afterwards; the subscriber must filter ranges itself.
 *
 * <p>Interval subscriptions of the same address space are always called before classic notifiers.
 * Starts and ends may nest on one thread and run concurrently on several. A subscriber whose start
 * can fail must not do work in {@link #invalidateRangeEnd}: after a failed non-blocking start the
 * core ends only the classic notifiers whose start succeeded.
 */
public interface MmuNotifier {
  /**
   * Called before the CPU page tables of {@code range} change.
   *
   * @param range the invalidation
   * @return true when done; false only if {@code range.blockable()} is false and the work would
   *     sleep, which makes the invalidator see {@link Errno#EAGAIN}
   */
  default boolean invalidateRangeStart(MmuNotifierRange range) {
    return true;
  }

  /**
   * Called after the CPU page tables of {@code range} changed, once per successful start.
   *
   * @param range the same invalidation that was started
   */
  default void invalidateRangeEnd(MmuNotifierRange range) {}

  /**
   * Called once when the address space loses its last user, before its mappings are torn down. The
   * notifier is unregistered afterwards.
   *
   * @param mm the exiting address space
   */
  default void release(AddressSpace mm) {}
}
