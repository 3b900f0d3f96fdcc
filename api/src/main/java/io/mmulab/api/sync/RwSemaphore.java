package io.mmulab.api.sync;

/**
 * A sleeping reader-writer lock (kernel {@code struct rw_semaphore}), used for {@code mmap_lock}
 * and for drivers whose update lock is shared by submitters and exclusive for invalidation. Neither
 * mode is recursive.
 */
public interface RwSemaphore extends Lockable {
  /** Acquires shared (kernel {@code down_read}). */
  void downRead();

  /**
   * Acquires shared if possible now (kernel {@code down_read_trylock}).
   *
   * @return true if acquired
   */
  boolean downReadTrylock();

  /** Releases shared (kernel {@code up_read}). */
  void upRead();

  /** Acquires exclusive (kernel {@code down_write}). */
  void downWrite();

  /**
   * Acquires exclusive if possible now (kernel {@code down_write_trylock}).
   *
   * @return true if acquired
   */
  boolean downWriteTrylock();

  /** Releases exclusive (kernel {@code up_write}). */
  void upWrite();

  /**
   * Turns the calling thread's exclusive hold into a shared one, letting waiting readers in but no
   * writer in between (kernel {@code downgrade_write}). Release it with {@link #upRead}.
   *
   * @throws io.mmulab.api.LockRuleViolation {@link io.mmulab.api.LockRule#UNLOCK_NOT_HELD} if the
   *     calling thread does not hold the lock for write
   */
  void downgradeWrite();

  /**
   * Tells whether the calling thread holds the lock shared.
   *
   * @return true if read-held by the calling thread
   */
  boolean isReadHeldByCurrentThread();

  /**
   * Tells whether the calling thread holds the lock exclusive.
   *
   * @return true if write-held by the calling thread
   */
  boolean isWriteHeldByCurrentThread();
}
