package io.mmulab.core.sync;

import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.core.LockDep;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * A wait queue on a monitor with a wake-up generation: a waiter reads the generation before
 * evaluating its condition and sleeps only while the generation is unchanged, so a wake-up between
 * evaluation and sleep is never lost. Waits are uninterruptible, like the kernel's {@code
 * wait_event}; an interrupt is kept and re-asserted on return.
 */
final class RealWaitQueue implements WaitQueue {
  private final Object monitor = new Object();
  private final String name;
  private final Clock clock;
  private long generation; // guarded by monitor

  RealWaitQueue(String name, Clock clock) {
    this.name = Objects.requireNonNull(name, "name is null");
    this.clock = clock;
  }

  @Override
  public void waitEvent(BooleanSupplier condition) {
    waitEventTimeout(condition, Long.MAX_VALUE);
  }

  @Override
  public boolean waitEventTimeout(BooleanSupplier condition, long timeoutNanos) {
    if (timeoutNanos < 0) {
      throw new IllegalArgumentException("negative timeout " + timeoutNanos + " on " + name);
    }
    LockDep.mightSleep("waiting on " + name);
    long deadline = deadline(timeoutNanos);
    boolean interrupted = false;
    try {
      while (true) {
        long seen;
        synchronized (monitor) {
          seen = generation;
        }
        if (condition.getAsBoolean()) {
          return true;
        }
        synchronized (monitor) {
          while (generation == seen) {
            try {
              if (deadline == Long.MAX_VALUE) {
                // Untimed: also what model checkers (Lincheck) can explore as a real sleep.
                monitor.wait();
              } else {
                long left = deadline - clock.nanoTime();
                if (left <= 0) {
                  return condition.getAsBoolean();
                }
                monitor.wait(left / 1_000_000, (int) (left % 1_000_000));
              }
            } catch (InterruptedException e) {
              interrupted = true;
            }
          }
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void wakeUpAll() {
    synchronized (monitor) {
      generation++;
      monitor.notifyAll();
    }
  }

  private long deadline(long timeoutNanos) {
    if (timeoutNanos == Long.MAX_VALUE) {
      return Long.MAX_VALUE;
    }
    long now = clock.nanoTime();
    return timeoutNanos > Long.MAX_VALUE - now ? Long.MAX_VALUE : now + timeoutNanos;
  }

  @Override
  public String toString() {
    return name;
  }
}
