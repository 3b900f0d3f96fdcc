package io.mmulab.core.sync;

import io.mmulab.api.sync.ExclusiveLock;
import io.mmulab.core.LockDep;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/** An exclusive lock on a {@link ReentrantLock} whose re-entry is reported, not allowed. */
abstract class RealExclusiveLock implements ExclusiveLock {
  private final ReentrantLock lock = new ReentrantLock();
  private final String name;
  private final boolean sleeping;

  RealExclusiveLock(String name, boolean sleeping) {
    this.name = Objects.requireNonNull(name, "name is null");
    this.sleeping = sleeping;
  }

  @Override
  public final void lock() {
    LockDep.beforeAcquire(this, sleeping);
    lock.lock();
    LockDep.acquired(this, false);
  }

  @Override
  public final boolean tryLock() {
    if (lock.isHeldByCurrentThread() || !lock.tryLock()) {
      return false;
    }
    LockDep.acquired(this, true);
    return true;
  }

  @Override
  public final void unlock() {
    LockDep.beforeRelease(this);
    lock.unlock();
  }

  @Override
  public final boolean isHeldByCurrentThread() {
    return lock.isHeldByCurrentThread();
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final String toString() {
    return name;
  }
}
