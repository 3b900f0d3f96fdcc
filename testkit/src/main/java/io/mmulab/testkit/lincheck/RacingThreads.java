package io.mmulab.testkit.lincheck;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The thread harness of a two-thread Lincheck test of a driver's own classes: one body per thread
 * (say, a GPU fault and a CPU migration of the same page), both started, both joined, and the first
 * failure of either rethrown to the model checker as an {@link AssertionError}. Lincheck's own
 * control-flow throwables (package {@code org.jetbrains.}) pass through untouched.
 */
public final class RacingThreads {
  private RacingThreads() {}

  /**
   * Runs {@code a} and {@code b} on two new threads and waits for both.
   *
   * @param nameA the first thread's name
   * @param a its body
   * @param nameB the second thread's name
   * @param b its body
   * @throws AssertionError if a body threw (the first failure, with its cause), or on interrupt
   */
  public static void race(String nameA, Runnable a, String nameB, Runnable b) {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread ta = thread(nameA, a, failure);
    Thread tb = thread(nameB, b, failure);
    ta.start();
    tb.start();
    try {
      ta.join();
      tb.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while joining " + nameA + " and " + nameB, e);
    }
    Throwable t = failure.get();
    if (t != null) {
      throw new AssertionError("a thread failed: " + t, t);
    }
  }

  private static Thread thread(String name, Runnable body, AtomicReference<Throwable> failure) {
    Objects.requireNonNull(body, "body of " + name + " is null");
    return new Thread(
        () -> {
          try {
            body.run();
          } catch (RuntimeException | Error t) {
            if (t.getClass().getName().startsWith("org.jetbrains.")) {
              throw t;
            }
            failure.compareAndSet(null, t);
          }
        },
        name);
  }
}
