package io.mmulab.sim.sched;

import io.mmulab.api.sync.ExclusiveLock;
import io.mmulab.core.LockDep;
import java.util.Objects;

/**
 * A non-recursive exclusive lock of the deterministic runtime. Reports to {@link LockDep} exactly
 * like {@code io.mmulab.core.sync.RealExclusiveLock}. Acquisition attempts (blocking and try) are
 * scheduling points before the attempt; a release is a scheduling point after it, so a waiter it
 * woke may take the lock before the releaser goes on. Unlock wakes every waiter and the scheduler
 * decides who gets the lock (no FIFO hand-off, like the kernel's optimistic spinning and lock
 * stealing).
 */
abstract class DetExclusiveLock implements ExclusiveLock, Waitable {
  private final Scheduler s;
  private final String name;
  private final boolean sleeping;
  private SimThread owner; // baton holder only

  DetExclusiveLock(Scheduler s, String name, boolean sleeping) {
    this.s = s;
    this.name = Objects.requireNonNull(name, "name is null");
    this.sleeping = sleeping;
  }

  @Override
  public final void lock() {
    SimThread self = s.self();
    LockDep.beforeAcquire(this, sleeping);
    s.maybeExtraYield(self, name);
    s.reschedule(self, "lock " + name);
    while (owner != null) {
      s.block(self, "blocked on " + name, this, null, SimThread.NO_DEADLINE);
    }
    owner = self;
    LockDep.acquired(this, false);
    s.trace(self, "acquired " + name);
  }

  @Override
  public final boolean tryLock() {
    SimThread self = s.self();
    s.maybeExtraYield(self, name);
    s.reschedule(self, "trylock " + name);
    if (owner != null) {
      s.trace(self, "trylock " + name + " failed");
      return false;
    }
    owner = self;
    LockDep.acquired(this, true);
    s.trace(self, "acquired " + name);
    return true;
  }

  @Override
  public final void unlock() {
    SimThread self = s.self();
    LockDep.beforeRelease(this);
    if (owner != self) {
      throw new IllegalMonitorStateException(name + " is not held by " + self.name);
    }
    owner = null;
    s.wakeAll(this);
    s.reschedule(self, "unlock " + name);
  }

  @Override
  public final boolean isHeldByCurrentThread() {
    SimThread me = s.currentOrNull();
    return me != null && owner == me;
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final String describeWait(SimThread waiter) {
    return (sleeping ? "mutex " : "spin lock ")
        + name
        + (owner == null ? ", now free" : ", held by " + owner.name);
  }

  @Override
  public final String toString() {
    return name;
  }
}
