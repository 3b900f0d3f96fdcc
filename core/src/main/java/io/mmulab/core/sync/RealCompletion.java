package io.mmulab.core.sync;

import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Completion;
import io.mmulab.core.LockDep;
import java.util.Objects;

/** A completion on a monitor: {@code done} counts completions not yet consumed by a waiter. */
final class RealCompletion implements Completion {
  private static final int ALL = Integer.MAX_VALUE / 2;

  private final String name;
  private final Clock clock;
  private int done; // guarded by this

  RealCompletion(String name, Clock clock) {
    this.name = Objects.requireNonNull(name, "name is null");
    this.clock = clock;
  }

  @Override
  public synchronized void complete() {
    if (done < ALL) {
      done++;
    }
    notifyAll();
  }

  @Override
  public synchronized void completeAll() {
    done = ALL;
    notifyAll();
  }

  @Override
  public void waitForCompletion() {
    waitForCompletionTimeout(Long.MAX_VALUE);
  }

  @Override
  public synchronized boolean waitForCompletionTimeout(long timeoutNanos) {
    if (timeoutNanos < 0) {
      throw new IllegalArgumentException("negative timeout " + timeoutNanos + " on " + name);
    }
    LockDep.mightSleep("waiting for " + name);
    long start = clock.nanoTime();
    boolean interrupted = false;
    try {
      while (done == 0) {
        long left =
            timeoutNanos == Long.MAX_VALUE
                ? Long.MAX_VALUE
                : timeoutNanos - (clock.nanoTime() - start);
        if (left <= 0) {
          return false;
        }
        try {
          wait(Math.max(1, Math.min(left / 1_000_000, Long.MAX_VALUE / 2)));
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (done < ALL) {
        done--;
      }
      return true;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public synchronized boolean isDone() {
    return done > 0;
  }

  @Override
  public String toString() {
    return name;
  }
}
