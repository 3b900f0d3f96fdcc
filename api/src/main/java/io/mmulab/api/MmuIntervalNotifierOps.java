package io.mmulab.api;

/**
 * The driver's side of an interval subscription (kernel {@code struct mmu_interval_notifier_ops}):
 * the core calls {@link #invalidate} for every invalidation that intersects the subscription,
 * before the CPU page tables of the range change.
 *
 * <p>Contract of the callback, in order:
 *
 * <ol>
 *   <li>If {@code range.blockable()} is false, take the update lock only with a try-lock and return
 *       {@code false} if that fails or if the work would need to sleep (fences, hardware). The core
 *       then stops calling further subscriptions, closes the window and reports {@link
 *       Errno#EAGAIN} to the invalidator.
 *   <li>Otherwise take the update lock, call {@link MmuIntervalNotifier#setSeq} with exactly {@code
 *       curSeq}, stop the device from using the intersection (zap its page-table entries, flush its
 *       TLB, or wait for its fences), release the lock and return {@code true}. Returning false for
 *       a blockable range is a driver bug: the core records a warning and goes on.
 * </ol>
 *
 * <p>The callback runs on the invalidating thread without any core lock held. It may run
 * concurrently for the same subscription from several threads; all callbacks of one window receive
 * the same odd {@code curSeq}. It must not call {@link MmuIntervalNotifier#readBegin} or {@link
 * MmuIntervalNotifier#remove}.
 *
 * <p>A callback that throws instead of returning does not fail the invalidation: the throwable
 * counts as a return of true for a blockable range (and is not a refusal for a non-blockable one),
 * every other subscription is still called, the memory manager completes its change and closes the
 * window, and then rethrows the throwable to the operation's caller, the first one with later ones
 * suppressed (see {@link MmuNotifier}, "A callback that throws"). The subscription's device view is
 * then whatever the callback left; the address space itself is consistent.
 */
@FunctionalInterface
public interface MmuIntervalNotifierOps {
  /**
   * Invalidates the driver's view of the intersection of {@code range} and {@code sub}.
   *
   * @param sub the subscription that intersects the range
   * @param range what is being invalidated
   * @param curSeq the odd sequence value to pass to {@link MmuIntervalNotifier#setSeq}
   * @return true when done; false only for a non-blockable range that cannot be handled now
   */
  boolean invalidate(MmuIntervalNotifier sub, MmuNotifierRange range, long curSeq);
}
