package io.mmulab.sim.sched;

import io.mmulab.api.sync.ExclusiveLock;
import io.mmulab.core.LockDep;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

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
  private @Nullable SimThread owner; // baton holder only

  // Trace labels, each built on first use: a primitive may be used thousands of times a run, or
  // never.
  private @Nullable String lockLabel;
  private @Nullable String trylockLabel;
  private @Nullable String trylockFailedLabel;
  private @Nullable String acquiredLabel;
  private @Nullable String blockedLabel;
  private @Nullable String unlockLabel;

  DetExclusiveLock(Scheduler s, String name, boolean sleeping) {
    this.s = s;
    this.name = Objects.requireNonNull(name, "name is null");
    this.sleeping = sleeping;
    s.registerLock(this);
  }

  @Override
  public final void lock() {
    SimThread self = s.self();
    LockDep.beforeAcquire(this, sleeping);
    s.maybeExtraYield(self, name);
    s.reschedule(self, lockLabel());
    while (owner != null) {
      s.block(self, blockedLabel(), this, null, SimThread.NO_DEADLINE);
    }
    owner = self;
    LockDep.acquired(this, false);
    s.trace(self, acquiredLabel());
  }

  @Override
  public final boolean tryLock() {
    SimThread self = s.self();
    s.maybeExtraYield(self, name);
    s.reschedule(self, trylockLabel());
    if (owner != null) {
      s.trace(self, trylockFailedLabel());
      return false;
    }
    owner = self;
    LockDep.acquired(this, true);
    s.trace(self, acquiredLabel());
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
    s.reschedule(self, unlockLabel());
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
  public final List<SimThread> holders() {
    return owner == null ? List.of() : List.of(owner);
  }

  @Override
  public final String toString() {
    return name;
  }

  private String lockLabel() {
    String l = lockLabel;
    return l != null ? l : (lockLabel = "lock " + name);
  }

  private String blockedLabel() {
    String l = blockedLabel;
    return l != null ? l : (blockedLabel = "blocked on " + name);
  }

  private String acquiredLabel() {
    String l = acquiredLabel;
    return l != null ? l : (acquiredLabel = "acquired " + name);
  }

  private String trylockLabel() {
    String l = trylockLabel;
    return l != null ? l : (trylockLabel = "trylock " + name);
  }

  private String trylockFailedLabel() {
    String l = trylockFailedLabel;
    return l != null ? l : (trylockFailedLabel = "trylock " + name + " failed");
  }

  private String unlockLabel() {
    String l = unlockLabel;
    return l != null ? l : (unlockLabel = "unlock " + name);
  }
}
