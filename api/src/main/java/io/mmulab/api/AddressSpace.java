package io.mmulab.api;

import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Lockable;
import io.mmulab.api.sync.RwSemaphore;
import org.jspecify.annotations.Nullable;

/**
 * A process address space as a driver sees it (kernel {@code struct mm_struct}): the place to
 * subscribe to invalidations, its {@code mmap} lock, and its user count.
 *
 * <p>Addresses and lengths are unsigned 64-bit values.
 *
 * <p>Every memory-management operation that invalidates (unmap, protection changes, advice,
 * migration, reclaim, fork, the OOM reaper, exit and the others the memory manager performs)
 * completes even if a subscriber's callback throws: entries are changed, frames freed exactly once,
 * every subscriber called and every window closed, and only then is the throwable rethrown to the
 * operation's caller (see {@link MmuNotifier}, "A callback that throws").
 */
public interface AddressSpace {
  /** Bytes in a base page. */
  long PAGE_SIZE = 4096;

  /** log2 of {@link #PAGE_SIZE}. */
  int PAGE_SHIFT = 12;

  /**
   * Returns a short name for messages and traces, such as {@code "mm#3"}.
   *
   * @return the name
   */
  String name();

  /**
   * Subscribes to invalidations of {@code [start, start + length)} (kernel {@code
   * mmu_interval_notifier_insert}). Never blocks on invalidations. The subscription may not be
   * visible to invalidations already running; use {@link MmuIntervalNotifier#readBegin} before
   * trusting any page-table walk. The caller must hold a user reference ({@link #mmget}) and must
   * not hold the mmap lock.
   *
   * <p>Without a declared update lock, {@code readRetry} and {@code setSeq} only check that the
   * caller holds some lock; prefer {@link #insertIntervalNotifier(long, long,
   * MmuIntervalNotifierOps, Lockable)}.
   *
   * @param start first address (unsigned)
   * @param length number of bytes (unsigned, at least 1)
   * @param ops the driver's callback
   * @return the subscription
   * @throws ErrnoException {@link Errno#EOVERFLOW} if {@code length} is 0 or the range passes
   *     {@code 2^64}; {@link Errno#EINVAL} if the address space has no users
   * @throws LockRuleViolation if the mmap lock is held by the caller
   */
  MmuIntervalNotifier insertIntervalNotifier(long start, long length, MmuIntervalNotifierOps ops)
      throws ErrnoException;

  /**
   * Like {@link #insertIntervalNotifier(long, long, MmuIntervalNotifierOps)}, declaring the
   * driver's update lock so that {@code readRetry} and {@code setSeq} check exactly that lock.
   *
   * @param start first address (unsigned)
   * @param length number of bytes (unsigned, at least 1)
   * @param ops the driver's callback
   * @param updateLock the lock held around {@code setSeq} and {@code readRetry}
   * @return the subscription
   * @throws ErrnoException as {@link #insertIntervalNotifier(long, long, MmuIntervalNotifierOps)}
   */
  MmuIntervalNotifier insertIntervalNotifier(
      long start, long length, MmuIntervalNotifierOps ops, @Nullable Lockable updateLock)
      throws ErrnoException;

  /**
   * Like {@link #insertIntervalNotifier(long, long, MmuIntervalNotifierOps, Lockable)} for a caller
   * that already holds the mmap lock for write (kernel {@code
   * mmu_interval_notifier_insert_locked}).
   *
   * @param start first address (unsigned)
   * @param length number of bytes (unsigned, at least 1)
   * @param ops the driver's callback
   * @param updateLock the driver's update lock, or null if not declared
   * @return the subscription
   * @throws ErrnoException as {@link #insertIntervalNotifier(long, long, MmuIntervalNotifierOps)}
   * @throws LockRuleViolation if the caller does not hold the mmap lock for write
   */
  MmuIntervalNotifier insertIntervalNotifierLocked(
      long start, long length, MmuIntervalNotifierOps ops, @Nullable Lockable updateLock)
      throws ErrnoException;

  /**
   * Registers a classic whole-address-space notifier (kernel {@code mmu_notifier_register}). Takes
   * the mmap lock for write. The newest registration is called first.
   *
   * @param notifier the notifier
   * @throws ErrnoException {@link Errno#EINVAL} if the address space has no users
   * @throws IllegalArgumentException if it is already registered here
   * @throws LockRuleViolation if the caller holds the mmap lock (use {@link
   *     #registerNotifierLocked})
   */
  void registerNotifier(MmuNotifier notifier) throws ErrnoException;

  /**
   * Like {@link #registerNotifier} for a caller that holds the mmap lock for write (kernel {@code
   * __mmu_notifier_register}).
   *
   * @param notifier the notifier
   * @throws ErrnoException {@link Errno#EINVAL} if the address space has no users
   * @throws IllegalArgumentException if it is already registered here
   * @throws LockRuleViolation if the caller does not hold the mmap lock for write
   */
  void registerNotifierLocked(MmuNotifier notifier) throws ErrnoException;

  /**
   * Unregisters a classic notifier (kernel {@code mmu_notifier_unregister}). If it is still
   * registered (exit has not released it yet), calls its {@link MmuNotifier#release} first, while
   * it is still registered, so that it drops every device mapping. Then waits for a grace period:
   * when this returns, no callback of the notifier is running or will run. May sleep; must not be
   * called from a notifier callback.
   *
   * @param notifier a notifier registered here, possibly already released by exit
   * @throws IllegalArgumentException if it was never registered here, or already unregistered
   * @throws LockRuleViolation {@link LockRule#GRACE_PERIOD_IN_CALLBACK} if called from a callback
   */
  void unregisterNotifier(MmuNotifier notifier);

  /**
   * Returns the notifier {@code factory} made for this address space, taking a reference on it, or
   * makes and registers a new one with one reference (kernel {@code mmu_notifier_get}). Takes the
   * mmap lock for write. Pair every successful call with one {@link #putNotifier}.
   *
   * @param factory the notifier's allocator and identity
   * @param <T> the notifier type
   * @return the shared notifier
   * @throws ErrnoException what {@link MmuNotifierFactory#allocNotifier} threw, or {@link
   *     Errno#EINVAL} if the address space has no users
   */
  <T extends MmuNotifier> T getNotifier(MmuNotifierFactory<T> factory) throws ErrnoException;

  /**
   * Drops a reference taken by {@link #getNotifier} (kernel {@code mmu_notifier_put}). The last one
   * unregisters the notifier without calling its release and hands it to {@link
   * MmuNotifierFactory#freeNotifier} after a grace period; callbacks may still be running when this
   * returns. Does not sleep.
   *
   * @param notifier a notifier got from {@link #getNotifier} on this address space
   * @throws IllegalArgumentException if it was not got here or has no reference left
   */
  void putNotifier(MmuNotifier notifier);

  /**
   * Waits until every notifier put so far on this address space has been freed (kernel {@code
   * mmu_notifier_synchronize}, which waits for every address space); a driver calls it before it
   * goes away. May sleep.
   *
   * @throws LockRuleViolation {@link LockRule#GRACE_PERIOD_IN_CALLBACK} if called from a callback
   */
  void synchronizeNotifiers();

  /**
   * Returns the lock that protects the VMAs and page tables (kernel {@code mmap_lock}).
   *
   * @return the mmap lock
   */
  RwSemaphore mmapLock();

  /** Takes a user reference (kernel {@code mmget}); the caller must already hold one. */
  void mmget();

  /**
   * Takes a user reference unless the address space has already lost all users (kernel {@code
   * mmget_not_zero}).
   *
   * @return true if a reference was taken
   */
  boolean mmgetNotZero();

  /**
   * Drops a user reference (kernel {@code mmput}); dropping the last one tears the address space
   * down: a RELEASE invalidation, then unmapping of every mapping. If a callback throws, the
   * teardown still completes (every mapping and frame is released, the reference is dropped), then
   * the throwable is rethrown.
   *
   * @throws IllegalStateException if no user reference is held
   */
  void mmput();

  /**
   * Returns the number of user references (kernel {@code mm_users}).
   *
   * @return the user count, 0 once the address space has exited
   */
  int users();

  /**
   * Looks up, faulting in if needed, the frames behind {@code nrPages} pages from {@code start} and
   * takes a reference or a pin on each (kernel {@code get_user_pages_remote} / {@code
   * pin_user_pages_remote}). The caller must hold the mmap lock. Like the kernel, it stops at the
   * first page it cannot get and returns how many it got, failing only if that is none.
   *
   * @param start first address, page-aligned
   * @param nrPages how many pages, at least 1
   * @param gupFlags {@link Gup} flags
   * @param pfns receives the frames; at least {@code nrPages} long
   * @return the number of pages got, at least 1
   * @throws ErrnoException {@link Errno#EFAULT} if the first page has no usable mapping, {@link
   *     Errno#ENOMEM} if a frame could not be allocated, {@link Errno#EPERM} is never thrown (a
   *     write to a read-only mapping is {@code EFAULT}, as in the kernel)
   * @throws IllegalArgumentException for an unaligned start, bad count, short array, unknown flag,
   *     or {@link Gup#FOLL_LONGTERM} without {@link Gup#FOLL_PIN} (long-term references are only
   *     valid as pins, as in the kernel's {@code pin_user_pages*})
   * @throws LockRuleViolation if the mmap lock is not held
   */
  int getUserPages(long start, int nrPages, int gupFlags, long[] pfns) throws ErrnoException;

  /**
   * Snapshots, faulting in where requested, the CPU page tables behind {@code range} (kernel {@code
   * hmm_range_fault}). Takes no reference: the result is trustworthy only once {@link
   * MmuIntervalNotifier#readRetry} returned false under the driver's update lock. The caller must
   * hold the mmap lock.
   *
   * @param range the request; its entries are overwritten with the result (partially on error)
   * @throws ErrnoException {@link Errno#EBUSY} if an invalidation collided (restart from {@code
   *     readBegin}); {@link Errno#EFAULT} if a requested page cannot be made valid; {@link
   *     Errno#EPERM} if a write was requested on a mapping without write permission
   * @throws IllegalArgumentException if the range's notifier belongs to another address space
   * @throws LockRuleViolation if the range's notifier was removed ({@link
   *     LockRule#USE_AFTER_REMOVE}), or the mmap lock is not held
   */
  void hmmRangeFault(HmmRange range) throws ErrnoException;
}
