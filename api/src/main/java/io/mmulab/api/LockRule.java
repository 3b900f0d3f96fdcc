package io.mmulab.api;

/**
 * The locking and lifetime rules of the mmu notifier contract that mmulab checks at run time (our
 * equivalent of the kernel's lockdep annotations). Each rule names one thing a driver or a caller
 * of the core must never do; breaking it throws {@link LockRuleViolation} with that rule.
 */
public enum LockRule {
  /**
   * {@code readBegin} called while the thread holds a lock that an invalidate callback (interval,
   * or a classic start or end) of the same address space takes: the reader may sleep waiting for an
   * invalidation that waits for that lock.
   */
  READ_BEGIN_HOLDING_CALLBACK_LOCK,
  /**
   * {@code remove} called while the thread holds a lock that an invalidate callback of the same
   * address space takes: remove may wait for a callback that waits for that lock.
   */
  REMOVE_HOLDING_CALLBACK_LOCK,
  /**
   * An invalidate callback (interval or classic) tried to take a lock that some thread held while
   * it waited in {@code readBegin} or {@code remove} on the same address space: the reverse order
   * of the above.
   */
  CALLBACK_TAKES_LOCK_HELD_ACROSS_WAIT,
  /** {@code readBegin} called from inside an invalidate callback: it would wait for itself. */
  READ_BEGIN_IN_CALLBACK,
  /** {@code remove} called from inside an invalidate callback: it would wait for itself. */
  REMOVE_IN_CALLBACK,
  /** {@code readRetry} called without holding the driver's update lock. */
  READ_RETRY_WITHOUT_UPDATE_LOCK,
  /** {@code setSeq} called without holding the driver's update lock. */
  SET_SEQ_WITHOUT_UPDATE_LOCK,
  /** {@code setSeq} called outside an invalidate callback of that subscription. */
  SET_SEQ_OUTSIDE_CALLBACK,
  /** {@code setSeq} called with a value other than the {@code curSeq} passed to the callback. */
  SET_SEQ_WRONG_VALUE,
  /**
   * {@code unregisterNotifier} or {@code synchronizeNotifiers} called from inside a notifier
   * callback: the grace period it waits for cannot end while the caller is in a callback.
   */
  GRACE_PERIOD_IN_CALLBACK,
  /** {@code invalidateRangeEnd} called after the matching non-blocking start failed. */
  END_AFTER_FAILED_NONBLOCK_START,
  /** {@code invalidateRangeEnd} called for a range this thread has no open start for. */
  END_WITHOUT_START,
  /** {@code remove} called a second time on the same subscription. */
  DOUBLE_REMOVE,
  /**
   * A subscription used after {@code remove} was called: {@code readBegin}, {@code readRetry}, or
   * an {@code hmmRangeFault} of a range naming it.
   */
  USE_AFTER_REMOVE,
  /** {@code insert} called while holding the address space's mmap lock (it may take it). */
  INSERT_HOLDING_MMAP_LOCK,
  /**
   * {@code insertLocked} or {@code registerNotifierLocked} called without holding the mmap lock for
   * write.
   */
  INSERT_LOCKED_WITHOUT_MMAP_WRITE_LOCK,
  /** A walk of the page tables (such as {@code hmmRangeFault}) without the mmap lock held. */
  MMAP_LOCK_NOT_HELD,
  /** A blocking primitive used inside a callback for a non-blockable range. */
  SLEEP_IN_NONBLOCKABLE_CALLBACK,
  /** A blocking primitive used while holding a spin lock. */
  SLEEP_WHILE_ATOMIC,
  /** A non-recursive lock taken again by the thread that holds it: a self-deadlock. */
  RECURSIVE_LOCK,
  /** A lock released by a thread that does not hold it. */
  UNLOCK_NOT_HELD
}
