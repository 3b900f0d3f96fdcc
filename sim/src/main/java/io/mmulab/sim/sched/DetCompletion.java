package io.mmulab.sim.sched;

import io.mmulab.api.sync.Completion;
import io.mmulab.core.LockDep;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

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

  // Trace labels, each built on first use: a primitive may be used thousands of times a run, or
  // never.
  private @Nullable String completeLabel;
  private @Nullable String completeAllLabel;
  private @Nullable String waitingForLabel;
  private @Nullable String waitForCompletionLabel;
  private @Nullable String waitForCompletionTimedOutLabel;
  private @Nullable String blockedOnLabel;
  private @Nullable String completedLabel;

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
    s.reschedule(self, completeLabel());
  }

  @Override
  public void completeAll() {
    SimThread self = s.self();
    done = ALL;
    s.wakeAll(this);
    s.reschedule(self, completeAllLabel());
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
    LockDep.mightSleep(waitingForLabel());
    long deadline = s.deadline(timeoutNanos);
    s.reschedule(self, waitForCompletionLabel());
    while (done == 0) {
      if (s.now() >= deadline) {
        s.trace(self, waitForCompletionTimedOutLabel());
        return false;
      }
      s.block(self, blockedOnLabel(), this, null, deadline);
    }
    if (done < ALL) {
      done--;
    }
    s.trace(self, completedLabel());
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

  private String completeLabel() {
    String l = completeLabel;
    return l != null ? l : (completeLabel = "complete " + name);
  }

  private String completeAllLabel() {
    String l = completeAllLabel;
    return l != null ? l : (completeAllLabel = "complete_all " + name);
  }

  private String waitingForLabel() {
    String l = waitingForLabel;
    return l != null ? l : (waitingForLabel = "waiting for " + name);
  }

  private String waitForCompletionLabel() {
    String l = waitForCompletionLabel;
    return l != null ? l : (waitForCompletionLabel = "wait_for_completion " + name);
  }

  private String waitForCompletionTimedOutLabel() {
    String l = waitForCompletionTimedOutLabel;
    return l != null
        ? l
        : (waitForCompletionTimedOutLabel = "wait_for_completion " + name + " timed out");
  }

  private String blockedOnLabel() {
    String l = blockedOnLabel;
    return l != null ? l : (blockedOnLabel = "blocked on " + name);
  }

  private String completedLabel() {
    String l = completedLabel;
    return l != null ? l : (completedLabel = "completed " + name);
  }
}
