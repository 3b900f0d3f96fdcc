package io.mmulab.api;

/**
 * A classic whole-address-space notifier (kernel {@code struct mmu_notifier}), as the legacy
 * drivers used it before interval subscriptions existed. Every invalidation of the address space
 * reaches {@link #invalidateRangeStart} before its page tables change and {@link
 * #invalidateRangeEnd} afterwards; the subscriber must filter ranges itself.
 *
 * <h2>Order and concurrency</h2>
 *
 * Interval subscriptions of the same address space are always called before classic notifiers, and
 * the newest classic registration first. Starts and ends may nest on one thread and run
 * concurrently on several. Callbacks run inside a read-side section of a grace-period mechanism
 * (the kernel's SRCU): {@link AddressSpace#unregisterNotifier} and {@link
 * AddressSpace#synchronizeNotifiers} wait for every section that began before them, so once
 * unregister returns no callback of the notifier is running or will run.
 *
 * <h2>A refused non-blockable start</h2>
 *
 * For a non-blockable range (the OOM reaper) a start may return false instead of sleeping. Every
 * classic start is still called, then the invalidation fails with {@link Errno#EAGAIN} and the
 * invalidator calls no end. What else happens is the address space's {@link NonblockRefusal} rule;
 * under the default ({@link NonblockRefusal#END_ALL_CLOSE_WINDOW}, as in mainline kernels since
 * 5.13) the core calls {@link #invalidateRangeEnd} on every classic notifier, so a notifier whose
 * start can refuse must not do work in its end (the core warns if it overrides it). A blockable
 * range must never be refused: the kernel warns and goes on as if the start had succeeded, and so
 * does mmulab.
 *
 * <h2>A callback that throws</h2>
 *
 * A callback cannot fail an invalidation, as in the kernel, whose callbacks have no way to stop the
 * memory manager. If {@link #invalidateRangeStart} (or {@link #invalidateRangeEnd}, or an interval
 * callback of the same window) throws a {@link RuntimeException} or an {@link Error}, the throwable
 * counts as a return of true: every other subscriber is still called, the page tables still change,
 * every end is still called, frames are still freed exactly once, and the window is closed (no
 * sequence stays odd). Only then is the throwable rethrown to whoever caused the invalidation
 * ({@code munmap}, a fault, exit, …), the first one with later ones attached as {@linkplain
 * Throwable#getSuppressed() suppressed}; the operation has completed and the address space is
 * consistent. A non-blockable start that returns false is a refusal, not a failure: the refusal
 * rules above apply, and a throwable from the same start is rethrown in place of the {@link
 * Errno#EAGAIN} (carrying it as suppressed). {@link #release} follows the same rule: exit tears the
 * mappings down and then rethrows.
 *
 * <h2>Lock rules</h2>
 *
 * Starts and ends are tracked like interval callbacks: a lock they take must not be held by a
 * thread waiting for invalidations ({@code readBegin}, {@code remove}) on the same address space,
 * and for a non-blockable range they must not sleep ({@link
 * LockRule#SLEEP_IN_NONBLOCKABLE_CALLBACK}). {@link #invalidateSecondaryTlbs} and the aging
 * callbacks run under the page-table spin lock and must never sleep.
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
   * Called after the CPU page tables of {@code range} changed, once per start; after a refused
   * non-blockable start, as the address space's {@link NonblockRefusal} rule says.
   *
   * @param range the same invalidation that was started
   */
  default void invalidateRangeEnd(MmuNotifierRange range) {}

  /**
   * Called once the address space lost its last user, before its mappings are torn down, while the
   * notifier is still registered; it is unregistered afterwards. Also called by {@link
   * AddressSpace#unregisterNotifier} if the notifier was still registered. When unregister races
   * with exit both may call it, so it must be idempotent; it is never skipped.
   *
   * @param mm the exiting address space
   */
  default void release(AddressSpace mm) {}

  /**
   * Called, under the page-table lock, each time a CPU page-table entry of {@code [start, end)} is
   * changed or cleared, so that a device sharing the CPU page tables (an IOMMU in shared virtual
   * addressing) flushes its TLB (kernel {@code arch_invalidate_secondary_tlbs}, {@code
   * invalidate_range} in 5.5). Must not sleep.
   *
   * @param mm the address space
   * @param start first address
   * @param end address after the last (exclusive)
   */
  default void invalidateSecondaryTlbs(AddressSpace mm, long start, long end) {}

  /**
   * Page aging: clears the device's accessed bits of {@code [start, end)} and flushes them (kernel
   * {@code clear_flush_young}). Called under the page-table lock; must not sleep.
   *
   * @param mm the address space
   * @param start first address
   * @param end address after the last (exclusive)
   * @return true if the device had accessed any page of the range
   */
  default boolean clearFlushYoung(AddressSpace mm, long start, long end) {
    return false;
  }

  /**
   * Page aging without a flush (kernel {@code clear_young}): like {@link #clearFlushYoung}, but the
   * device may keep using stale accessed bits for a while. Must not sleep.
   *
   * @param mm the address space
   * @param start first address
   * @param end address after the last (exclusive)
   * @return true if the device had accessed any page of the range
   */
  default boolean clearYoung(AddressSpace mm, long start, long end) {
    return false;
  }

  /**
   * Page aging, read only (kernel {@code test_young}). Must not sleep.
   *
   * @param mm the address space
   * @param address the page
   * @return true if the device accessed the page since its bit was last cleared
   */
  default boolean testYoung(AddressSpace mm, long address) {
    return false;
  }
}
