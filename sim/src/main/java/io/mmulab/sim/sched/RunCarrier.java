package io.mmulab.sim.sched;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The one carrier of a run's virtual threads: the thread that called {@link Scheduler#run} runs
 * their continuations itself, one after the other. Since exactly one simulated thread runs at a
 * time, a baton hand-off is then a queue push and a continuation switch on one core, with no other
 * carrier to wake and nothing to migrate; independent runs on independent callers scale with the
 * cores.
 *
 * <p>Tasks are submitted by the virtual threads it runs (on this carrier) or, rarely, by a JDK
 * timer thread; a submission from another thread wakes the carrier. Only the owner runs tasks.
 */
final class RunCarrier implements Executor {
  private final Thread owner = Thread.currentThread();
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();

  @Override
  public void execute(Runnable task) {
    tasks.add(task);
    if (Thread.currentThread() != owner) {
      LockSupport.unpark(owner);
    }
  }

  /**
   * Runs submitted tasks on the calling thread, the owner, until {@code done} holds.
   *
   * @param done checked before each task
   * @param timeoutNanos how long to wait in all for {@code done}; {@link Long#MAX_VALUE} waits for
   *     ever
   * @return whether {@code done} holds
   * @throws IllegalStateException if the caller is not the owner
   */
  boolean runUntil(BooleanSupplier done, long timeoutNanos) {
    if (Thread.currentThread() != owner) {
      throw new IllegalStateException(
          "run carrier of " + owner.getName() + " driven by " + Thread.currentThread().getName());
    }
    long start = System.nanoTime();
    boolean interrupted = false;
    try {
      while (!done.getAsBoolean()) {
        Runnable task = tasks.poll();
        if (task != null) {
          task.run();
          continue;
        }
        long left =
            timeoutNanos == Long.MAX_VALUE
                ? Long.MAX_VALUE
                : timeoutNanos - (System.nanoTime() - start);
        if (left <= 0) {
          return false;
        }
        LockSupport.parkNanos(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
        interrupted |= Thread.interrupted();
      }
      return true;
    } finally {
      if (interrupted) {
        owner.interrupt();
      }
    }
  }
}
