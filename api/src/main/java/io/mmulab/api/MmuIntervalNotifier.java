package io.mmulab.api;

/**
 * A subscription to invalidations of one virtual range of an address space (kernel {@code struct
 * mmu_interval_notifier}), obtained from {@link AddressSpace#insertIntervalNotifier}.
 *
 * <p>The collision-retry pattern that makes a device mapping safe:
 *
 * <pre>{@code
 * while (true) {
 *   long seq = sub.readBegin();               // no driver lock held; may sleep
 *   snapshot = walk the CPU page tables;      // hmmRangeFault or getUserPages
 *   updateLock.lock();
 *   if (sub.readRetry(seq)) {                 // an invalidation collided: start over
 *     updateLock.unlock();
 *     continue;
 *   }
 *   program the device from snapshot;         // still under the update lock
 *   updateLock.unlock();
 *   break;
 * }
 * }</pre>
 *
 * <p>The invalidate callback takes the same update lock, calls {@link #setSeq}, and zaps the device
 * mapping. The lock is what orders the two sides: a reader that passed {@code readRetry} finishes
 * programming before the callback can zap, and a callback that ran first makes {@code readRetry}
 * true.
 *
 * <p>Sequence values are odd and opaque; compare them only through this interface. Closing the
 * subscription ({@link #close}) is {@link #remove}.
 */
public interface MmuIntervalNotifier extends AutoCloseable {
  /**
   * Returns the address space this subscription watches.
   *
   * @return the address space
   */
  AddressSpace addressSpace();

  /**
   * Returns the first address covered, inclusive (unsigned).
   *
   * @return the start address
   */
  long start();

  /**
   * Returns the last address covered, inclusive (unsigned; may be {@code 2^64-1}).
   *
   * @return the last address
   */
  long last();

  /**
   * Returns the exclusive end {@code last() + 1}; this wraps to 0 for a subscription that reaches
   * {@code 2^64-1}, so prefer {@link #last()} near the top of the address space.
   *
   * @return the exclusive end address
   */
  default long end() {
    return last() + 1;
  }

  /**
   * Begins a speculative read of the CPU page tables covered by this subscription (kernel {@code
   * mmu_interval_read_begin}). If an invalidation window that already hit this subscription is
   * still open, sleeps until it ends. Does not loop: the value returned may already be stale, which
   * {@link #readRetry} will report.
   *
   * <p>Must not be called with the update lock, or any lock an invalidate callback of this address
   * space takes, held, and never from a callback.
   *
   * @return the sequence value to pass to {@link #readRetry} or {@link #checkRetry}
   * @throws LockRuleViolation if called from a callback, holding a callback's lock, or after {@link
   *     #remove}
   */
  long readBegin();

  /**
   * Ends a speculative read (kernel {@code mmu_interval_read_retry}): true if an invalidation
   * collided since {@link #readBegin} returned {@code seq}, in which case the snapshot must be
   * discarded. Must be called with the update lock held, and when it returns false the device may
   * be programmed before that lock is released.
   *
   * <p>On a subscription already removed (or being removed) it throws {@link
   * LockRule#USE_AFTER_REMOVE} rather than answering: no answer is safe there, since "no retry"
   * would let the driver program the device from a subscription that no longer receives
   * invalidations, and "retry" would only send it back to {@link #readBegin}, which refuses a
   * removed subscription the same way.
   *
   * @param seq the value returned by {@link #readBegin}
   * @return true if the caller must retry
   * @throws LockRuleViolation if the update lock is not held, or after {@link #remove} was called
   *     ({@link LockRule#USE_AFTER_REMOVE})
   */
  boolean readRetry(long seq);

  /**
   * Lock-free early test for a collision (kernel {@code mmu_interval_check_retry}). True is
   * reliable (a later {@link #readRetry} will also be true); false only means "not yet".
   *
   * @param seq the value returned by {@link #readBegin}
   * @return true if a collision already happened
   */
  boolean checkRetry(long seq);

  /**
   * Records, from inside the invalidate callback and under the update lock, that this subscription
   * was invalidated (kernel {@code mmu_interval_set_seq}).
   *
   * @param curSeq exactly the {@code curSeq} the callback received
   * @throws LockRuleViolation outside a callback of this subscription, with another value, or
   *     without the update lock
   */
  void setSeq(long curSeq);

  /**
   * Removes the subscription (kernel {@code mmu_interval_notifier_remove}). If an invalidation
   * window may be iterating over it, waits until that window has ended; on return no callback is
   * running and none will start. May sleep.
   *
   * @throws LockRuleViolation if called from a callback, holding a callback's lock, or twice
   */
  void remove();

  /** Same as {@link #remove()}: a subscription is removed exactly once. */
  @Override
  default void close() {
    remove();
  }
}
