package io.mmulab.sim.sched;

import io.mmulab.api.sync.ThreadHandle;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * One simulated thread: a Java thread of the run's {@link ThreadKind} plus the scheduler's view of
 * it. Every field except {@link #killRequested} is touched only by the thread holding the baton
 * (see {@link Scheduler}).
 */
final class SimThread implements Waitable, ThreadHandle {
  enum State {
    RUNNABLE,
    BLOCKED,
    DONE
  }

  static final long NO_DEADLINE = Long.MAX_VALUE;

  final Scheduler scheduler;
  final int id;
  final String name;
  final Runnable body;
  final Thread java;

  State state = State.RUNNABLE;
  @Nullable Waitable blockedOn;
  @Nullable String blockMode;
  long deadline = NO_DEADLINE;
  String lastLabel = "(not started)";
  @Nullable Throwable failure;

  /** Set by the runner at teardown; read by this thread at every runtime call. */
  volatile boolean killRequested;

  SimThread(
      Scheduler scheduler,
      int id,
      String name,
      Runnable body,
      ThreadKind kind,
      @Nullable Executor carrier) {
    this.scheduler = scheduler;
    this.id = id;
    this.name = name;
    this.body = body;
    this.java =
        kind.newThread(
            DeterministicRuntime.THREAD_NAME_PREFIX + name,
            () -> scheduler.threadMain(this),
            carrier);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void join() {
    scheduler.join(this);
  }

  @Override
  public boolean isDone() {
    return state == State.DONE;
  }

  @Override
  public String describeWait(SimThread waiter) {
    return "thread " + name + " to finish (" + name + " " + scheduler.shortState(this) + ")";
  }

  @Override
  public List<SimThread> holders() {
    return state == State.DONE ? List.of() : List.of(this);
  }

  @Override
  public String toString() {
    return name;
  }

  /** What this thread, which is BLOCKED, waits on. */
  Waitable waitable() {
    return Objects.requireNonNull(blockedOn, () -> name + " is not blocked");
  }
}
