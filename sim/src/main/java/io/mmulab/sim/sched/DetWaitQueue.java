package io.mmulab.sim.sched;

import io.mmulab.api.sync.WaitQueue;
import io.mmulab.core.LockDep;
import java.util.List;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * A wait queue of the deterministic runtime. {@code waitEvent} has a scheduling point before every
 * evaluation of the condition (so also after every wake-up). Like {@code RealWaitQueue} it reads a
 * wake-up generation before evaluating the condition and sleeps only if no {@link #wakeUpAll} came
 * in between, so a wake-up while the condition itself was switched out (it may take locks) is never
 * lost. On timeout the condition is evaluated once more and its value returned, like the real one.
 */
final class DetWaitQueue implements WaitQueue, Waitable {
  private final Scheduler s;
  private final String name;
  private long generation; // baton holder only

  // Trace labels, each built on first use: a primitive may be used thousands of times a run, or
  // never.
  private @Nullable String waitingOnLabel;
  private @Nullable String waitLabel;
  private @Nullable String blockedOnLabel;
  private @Nullable String wakeUpAllLabel;

  DetWaitQueue(Scheduler s, String name) {
    this.s = s;
    this.name = Objects.requireNonNull(name, "name is null");
  }

  @Override
  public void waitEvent(BooleanSupplier condition) {
    waitEventTimeout(condition, Long.MAX_VALUE);
  }

  @Override
  public boolean waitEventTimeout(BooleanSupplier condition, long timeoutNanos) {
    SimThread self = s.self();
    if (timeoutNanos < 0) {
      throw new IllegalArgumentException("negative timeout " + timeoutNanos + " on " + name);
    }
    LockDep.mightSleep(waitingOnLabel());
    long deadline = s.deadline(timeoutNanos);
    while (true) {
      s.reschedule(self, waitLabel());
      long seen = generation;
      if (condition.getAsBoolean()) {
        return true;
      }
      if (generation != seen) {
        continue;
      }
      if (s.now() >= deadline) {
        boolean last = condition.getAsBoolean();
        s.trace(self, "wait " + name + " timed out" + (last ? " (condition true)" : ""));
        return last;
      }
      s.block(self, blockedOnLabel(), this, null, deadline);
    }
  }

  @Override
  public void wakeUpAll() {
    SimThread self = s.self();
    generation++;
    List<String> woken = s.wakeAll(this);
    s.reschedule(self, woken.isEmpty() ? wakeUpAllLabel() : wakeUpAllLabel() + " " + woken);
  }

  @Override
  public String describeWait(SimThread waiter) {
    return "wait queue " + name;
  }

  @Override
  public boolean spuriousWakeable() {
    return true;
  }

  @Override
  public String toString() {
    return name;
  }

  private String waitingOnLabel() {
    String l = waitingOnLabel;
    return l != null ? l : (waitingOnLabel = "waiting on " + name);
  }

  private String waitLabel() {
    String l = waitLabel;
    return l != null ? l : (waitLabel = "wait " + name);
  }

  private String blockedOnLabel() {
    String l = blockedOnLabel;
    return l != null ? l : (blockedOnLabel = "blocked on " + name);
  }

  private String wakeUpAllLabel() {
    String l = wakeUpAllLabel;
    return l != null ? l : (wakeUpAllLabel = "wake_up_all " + name);
  }
}
