package io.mmulab.sim.sched;

import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.core.LockDep;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A reader-writer semaphore of the deterministic runtime: many readers or one writer, and a waiting
 * writer blocks new readers, as in the kernel (so readers cannot starve a writer). Try-locks follow
 * the same rule: {@code downReadTrylock} fails while a writer holds or waits. Releases wake every
 * waiter and the scheduler decides who goes first; a writer may therefore overtake another waiting
 * writer. Reports to {@link LockDep} exactly like {@code io.mmulab.core.sync.RealRwSemaphore}.
 */
final class DetRwSemaphore implements RwSemaphore, Waitable {
  private static final String READ = "read";
  private static final String WRITE = "write";

  private final Scheduler s;
  private final String name;
  // baton holder only:
  private final List<SimThread> readers = new ArrayList<>(2);
  private SimThread writer;
  private int writersWaiting;

  DetRwSemaphore(Scheduler s, String name) {
    this.s = s;
    this.name = Objects.requireNonNull(name, "name is null");
  }

  @Override
  public void downRead() {
    SimThread self = s.self();
    LockDep.beforeAcquire(this, true);
    s.maybeExtraYield(self, name);
    s.reschedule(self, "down_read " + name);
    while (writer != null || writersWaiting > 0) {
      s.block(self, "blocked on " + name + " (read)", this, READ, SimThread.NO_DEADLINE);
    }
    readers.add(self);
    LockDep.acquired(this, false);
    s.trace(self, "acquired " + name + " (read)");
  }

  @Override
  public boolean downReadTrylock() {
    SimThread self = s.self();
    s.maybeExtraYield(self, name);
    s.reschedule(self, "down_read_trylock " + name);
    if (holds(self) || writer != null || writersWaiting > 0) {
      s.trace(self, "down_read_trylock " + name + " failed");
      return false;
    }
    readers.add(self);
    LockDep.acquired(this, true);
    s.trace(self, "acquired " + name + " (read)");
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
    s.reschedule(self, "up_read " + name);
  }

  @Override
  public void downWrite() {
    SimThread self = s.self();
    LockDep.beforeAcquire(this, true);
    s.maybeExtraYield(self, name);
    s.reschedule(self, "down_write " + name);
    if (writer != null || !readers.isEmpty()) {
      writersWaiting++;
      while (writer != null || !readers.isEmpty()) {
        s.block(self, "blocked on " + name + " (write)", this, WRITE, SimThread.NO_DEADLINE);
      }
      writersWaiting--;
    }
    writer = self;
    LockDep.acquired(this, false);
    s.trace(self, "acquired " + name + " (write)");
  }

  @Override
  public boolean downWriteTrylock() {
    SimThread self = s.self();
    s.maybeExtraYield(self, name);
    s.reschedule(self, "down_write_trylock " + name);
    if (holds(self) || writer != null || !readers.isEmpty()) {
      s.trace(self, "down_write_trylock " + name + " failed");
      return false;
    }
    writer = self;
    LockDep.acquired(this, true);
    s.trace(self, "acquired " + name + " (write)");
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
    s.reschedule(self, "up_write " + name);
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
    if (writersWaiting > 0) {
      sb.append(", ").append(writersWaiting).append(" writer(s) waiting");
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
}
