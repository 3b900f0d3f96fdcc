package io.mmulab.sim.sched;

import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.core.LockDep;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A reader-writer semaphore of the deterministic runtime: many readers or one writer, and a waiting
 * writer blocks new readers, as in the kernel (so readers cannot starve a writer). Try-locks follow
 * the same rule: {@code downReadTrylock} fails while a writer holds or waits. Releases wake every
 * waiter and the scheduler decides who goes first; a writer may therefore overtake another waiting
 * writer. Reports to {@link LockDep} like {@code io.mmulab.core.sync.RealRwSemaphore}, with one
 * exception: a thread may take for read a semaphore it already holds for read (the kernel allows
 * it; only its lockdep objects), because that is a deadlock only when a writer queued in between,
 * and the scheduler reports that deadlock with its cycle of waits (the reader waits for the queued
 * writer, which waits for the reader). Every other recursive acquisition is a {@code
 * RECURSIVE_LOCK} violation.
 */
final class DetRwSemaphore implements RwSemaphore, Waitable {
  private static final String READ = "read";
  private static final String WRITE = "write";

  private final Scheduler s;
  private final String name;
  // baton holder only:
  private final List<SimThread> readers = new ArrayList<>(2);
  private @Nullable SimThread writer;
  private final List<SimThread> writersWaiting = new ArrayList<>(1);

  // Trace labels, each built on first use: a primitive may be used thousands of times a run, or
  // never.
  private @Nullable String downReadLabel;
  private @Nullable String blockedOnReadLabel;
  private @Nullable String acquiredReadLabel;
  private @Nullable String downReadTrylockLabel;
  private @Nullable String downReadTrylockFailedLabel;
  private @Nullable String upReadLabel;
  private @Nullable String downWriteLabel;
  private @Nullable String blockedOnWriteLabel;
  private @Nullable String acquiredWriteLabel;
  private @Nullable String downWriteTrylockLabel;
  private @Nullable String downWriteTrylockFailedLabel;
  private @Nullable String upWriteLabel;
  private @Nullable String downgradeLabel;

  DetRwSemaphore(Scheduler s, String name) {
    this.s = s;
    this.name = Objects.requireNonNull(name, "name is null");
    s.registerLock(this);
  }

  @Override
  public void downRead() {
    SimThread self = s.self();
    if (readers.contains(self)) {
      LockDep.mightSleep(downReadLabel()); // a nested read: see the class comment
    } else {
      LockDep.beforeAcquire(this, true);
    }
    s.maybeExtraYield(self, name);
    s.reschedule(self, downReadLabel());
    while (writer != null || !writersWaiting.isEmpty()) {
      s.block(self, blockedOnReadLabel(), this, READ, SimThread.NO_DEADLINE);
    }
    readers.add(self);
    LockDep.acquired(this, false);
    s.trace(self, acquiredReadLabel());
  }

  @Override
  public boolean downReadTrylock() {
    SimThread self = s.self();
    s.maybeExtraYield(self, name);
    s.reschedule(self, downReadTrylockLabel());
    if (holds(self) || writer != null || !writersWaiting.isEmpty()) {
      s.trace(self, downReadTrylockFailedLabel());
      return false;
    }
    readers.add(self);
    LockDep.acquired(this, true);
    s.trace(self, acquiredReadLabel());
    return true;
  }

  @Override
  public void upRead() {
    SimThread self = s.self();
    if (!readers.contains(self)) {
      throw wrongMode("upRead");
    }
    LockDep.beforeRelease(this);
    readers.remove(self);
    if (readers.isEmpty()) {
      s.wakeAll(this);
    }
    s.reschedule(self, upReadLabel());
  }

  @Override
  public void downWrite() {
    SimThread self = s.self();
    LockDep.beforeAcquire(this, true);
    s.maybeExtraYield(self, name);
    s.reschedule(self, downWriteLabel());
    if (writer != null || !readers.isEmpty()) {
      writersWaiting.add(self);
      try {
        while (writer != null || !readers.isEmpty()) {
          s.block(self, blockedOnWriteLabel(), this, WRITE, SimThread.NO_DEADLINE);
        }
      } finally {
        writersWaiting.remove(self);
      }
    }
    writer = self;
    LockDep.acquired(this, false);
    s.trace(self, acquiredWriteLabel());
  }

  @Override
  public boolean downWriteTrylock() {
    SimThread self = s.self();
    s.maybeExtraYield(self, name);
    s.reschedule(self, downWriteTrylockLabel());
    if (holds(self) || writer != null || !readers.isEmpty()) {
      s.trace(self, downWriteTrylockFailedLabel());
      return false;
    }
    writer = self;
    LockDep.acquired(this, true);
    s.trace(self, acquiredWriteLabel());
    return true;
  }

  @Override
  public void upWrite() {
    SimThread self = s.self();
    if (writer != self) {
      throw wrongMode("upWrite");
    }
    LockDep.beforeRelease(this);
    writer = null;
    s.wakeAll(this);
    s.reschedule(self, upWriteLabel());
  }

  @Override
  public List<SimThread> holders() {
    return writer != null ? List.of(writer) : List.copyOf(readers);
  }

  /** A reader also waits for the writers queued before it (writer preference). */
  @Override
  public List<SimThread> blockers(SimThread waiter) {
    if (!READ.equals(waiter.blockMode) || writersWaiting.isEmpty()) {
      return holders();
    }
    List<SimThread> all = new ArrayList<>(holders());
    all.addAll(writersWaiting);
    return all;
  }

  @Override
  public void downgradeWrite() {
    SimThread self = s.self();
    if (writer != self) {
      throw wrongMode("downgradeWrite");
    }
    writer = null;
    readers.add(self);
    s.wakeAll(this);
    s.reschedule(self, downgradeLabel());
  }

  @Override
  public boolean isReadHeldByCurrentThread() {
    SimThread me = s.currentOrNull();
    return me != null && readers.contains(me);
  }

  @Override
  public boolean isWriteHeldByCurrentThread() {
    SimThread me = s.currentOrNull();
    return me != null && writer == me;
  }

  @Override
  public boolean isHeldByCurrentThread() {
    SimThread me = s.currentOrNull();
    return me != null && holds(me);
  }

  private boolean holds(SimThread t) {
    return writer == t || readers.contains(t);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String describeWait(SimThread waiter) {
    StringBuilder sb = new StringBuilder("rwsem ").append(name);
    if (waiter.blockMode != null) {
      sb.append(" (").append(waiter.blockMode).append(')');
    }
    if (writer != null) {
      sb.append(", held for write by ").append(writer.name);
    } else if (!readers.isEmpty()) {
      sb.append(", held for read by ");
      for (int i = 0; i < readers.size(); i++) {
        sb.append(i == 0 ? "" : ", ").append(readers.get(i).name);
      }
    } else {
      sb.append(", now free");
    }
    if (!writersWaiting.isEmpty()) {
      sb.append(", writer(s) waiting: ");
      for (int i = 0; i < writersWaiting.size(); i++) {
        sb.append(i == 0 ? "" : ", ").append(writersWaiting.get(i).name);
      }
    }
    return sb.toString();
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

  private String downReadLabel() {
    String l = downReadLabel;
    return l != null ? l : (downReadLabel = "down_read " + name);
  }

  private String blockedOnReadLabel() {
    String l = blockedOnReadLabel;
    return l != null ? l : (blockedOnReadLabel = "blocked on " + name + " (read)");
  }

  private String acquiredReadLabel() {
    String l = acquiredReadLabel;
    return l != null ? l : (acquiredReadLabel = "acquired " + name + " (read)");
  }

  private String downReadTrylockLabel() {
    String l = downReadTrylockLabel;
    return l != null ? l : (downReadTrylockLabel = "down_read_trylock " + name);
  }

  private String downReadTrylockFailedLabel() {
    String l = downReadTrylockFailedLabel;
    return l != null ? l : (downReadTrylockFailedLabel = "down_read_trylock " + name + " failed");
  }

  private String upReadLabel() {
    String l = upReadLabel;
    return l != null ? l : (upReadLabel = "up_read " + name);
  }

  private String downWriteLabel() {
    String l = downWriteLabel;
    return l != null ? l : (downWriteLabel = "down_write " + name);
  }

  private String blockedOnWriteLabel() {
    String l = blockedOnWriteLabel;
    return l != null ? l : (blockedOnWriteLabel = "blocked on " + name + " (write)");
  }

  private String acquiredWriteLabel() {
    String l = acquiredWriteLabel;
    return l != null ? l : (acquiredWriteLabel = "acquired " + name + " (write)");
  }

  private String downWriteTrylockLabel() {
    String l = downWriteTrylockLabel;
    return l != null ? l : (downWriteTrylockLabel = "down_write_trylock " + name);
  }

  private String downWriteTrylockFailedLabel() {
    String l = downWriteTrylockFailedLabel;
    return l != null ? l : (downWriteTrylockFailedLabel = "down_write_trylock " + name + " failed");
  }

  private String downgradeLabel() {
    String l = downgradeLabel;
    return l != null ? l : (downgradeLabel = "downgrade_write " + name);
  }

  private String upWriteLabel() {
    String l = upWriteLabel;
    return l != null ? l : (upWriteLabel = "up_write " + name);
  }
}
