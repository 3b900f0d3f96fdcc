package io.mmulab.core.sync;

import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.core.LockDep;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;

final class RealRwSemaphore implements RwSemaphore {
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final String name;

  RealRwSemaphore(String name) {
    this.name = Objects.requireNonNull(name, "name is null");
  }

  @Override
  public void downRead() {
    LockDep.beforeAcquire(this, true);
    lock.readLock().lock();
    LockDep.acquired(this, false);
  }

  @Override
  public boolean downReadTrylock() {
    if (isHeldByCurrentThread() || !lock.readLock().tryLock()) {
      return false;
    }
    LockDep.acquired(this, true);
    return true;
  }

  @Override
  public void upRead() {
    if (lock.getReadHoldCount() == 0) {
      throw wrongMode("upRead");
    }
    LockDep.beforeRelease(this);
    lock.readLock().unlock();
  }

  @Override
  public void downWrite() {
    LockDep.beforeAcquire(this, true);
    lock.writeLock().lock();
    LockDep.acquired(this, false);
  }

  @Override
  public boolean downWriteTrylock() {
    if (isHeldByCurrentThread() || !lock.writeLock().tryLock()) {
      return false;
    }
    LockDep.acquired(this, true);
    return true;
  }

  @Override
  public void upWrite() {
    if (!lock.isWriteLockedByCurrentThread()) {
      throw wrongMode("upWrite");
    }
    LockDep.beforeRelease(this);
    lock.writeLock().unlock();
  }

  @Override
  public void downgradeWrite() {
    if (!lock.isWriteLockedByCurrentThread()) {
      throw wrongMode("downgradeWrite");
    }
    // ReentrantReadWriteLock lets the writer take the read lock before it drops the write lock:
    // no writer can get in between. Lockdep keeps seeing one hold of this lock.
    lock.readLock().lock();
    lock.writeLock().unlock();
  }

  @Override
  public boolean isReadHeldByCurrentThread() {
    return lock.getReadHoldCount() > 0;
  }

  @Override
  public boolean isWriteHeldByCurrentThread() {
    return lock.isWriteLockedByCurrentThread();
  }

  @Override
  public boolean isHeldByCurrentThread() {
    return isReadHeldByCurrentThread() || isWriteHeldByCurrentThread();
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String toString() {
    return name;
  }

  private LockRuleViolation wrongMode(String op) {
    return new LockRuleViolation(
        LockRule.UNLOCK_NOT_HELD,
        Thread.currentThread().getName()
            + " calls "
            + op
            + " on "
            + name
            + " without that mode held");
  }
}
