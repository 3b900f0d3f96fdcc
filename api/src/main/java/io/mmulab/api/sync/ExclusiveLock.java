package io.mmulab.api.sync;

/** A non-recursive exclusive lock: the common shape of {@link Mutex} and {@link SpinLock}. */
public interface ExclusiveLock extends Lockable {
  /** Acquires the lock, waiting as long as needed. */
  void lock();

  /**
   * Acquires the lock only if it is free now.
   *
   * @return true if acquired
   */
  boolean tryLock();

  /** Releases the lock, which the calling thread must hold. */
  void unlock();
}
