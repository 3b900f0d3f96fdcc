package io.mmulab.sim.sched;

import io.mmulab.api.sync.Completion;
import io.mmulab.core.LockDep;
import java.util.Objects;

/**
 * A counted completion of the deterministic runtime, like {@code RealCompletion}: {@code done}
 * counts completions not yet consumed; {@link #completeAll} makes it permanently done. {@code
 * complete} wakes every waiter (one of them consumes, the others sleep again). {@code complete},
 * {@code completeAll} are scheduling points after the change; a wait has one before checking.
 */
final class DetCompletion implements Completion, Waitable {
  private static final int ALL = Integer.MAX_VALUE / 2;

  private final Scheduler s;
  private final String name;
  private int done; // baton holder only

  DetCompletion(Scheduler s, String name) {
    this.s = s;
    this.name = Objects.requireNonNull(name, "name is null");
  }

  @Override
  public void complete() {
    SimThread self = s.self();
    if (done < ALL) {
      done++;
    }
    s.wakeAll(this);
    s.reschedule(self, "complete " + name);
  }

  @Override
  public void completeAll() {
    SimThread self = s.self();
    done = ALL;
    s.wakeAll(this);
    s.reschedule(self, "complete_all " + name);
  }

  @Override
  public void waitForCompletion() {
    waitForCompletionTimeout(Long.MAX_VALUE);
  }

  @Override
  public boolean waitForCompletionTimeout(long timeoutNanos) {
    SimThread self = s.self();
    if (timeoutNanos < 0) {
      throw new IllegalArgumentException("negative timeout " + timeoutNanos + " on " + name);
    }
    LockDep.mightSleep("waiting for " + name);
    long deadline = s.deadline(timeoutNanos);
    s.reschedule(self, "wait_for_completion " + name);
    while (done == 0) {
      if (s.now() >= deadline) {
        s.trace(self, "wait_for_completion " + name + " timed out");
        return false;
      }
      s.block(self, "blocked on " + name, this, null, deadline);
    }
    if (done < ALL) {
      done--;
    }
    s.trace(self, "completed " + name);
    return true;
  }

  @Override
  public boolean isDone() {
    return done > 0;
  }

  @Override
  public String describeWait(SimThread waiter) {
    return "completion " + name;
  }

  @Override
  public boolean spuriousWakeable() {
    return true;
  }

  @Override
  public String toString() {
    return name;
  }
}
