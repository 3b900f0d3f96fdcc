package io.mmulab.driver.umemodp;

import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.SyncRuntime;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The legacy fault path's waits on an invalidation's completion after {@code -EAGAIN}: how many,
 * how many timed out (the completion was not done within the timeout), and how long the faulting
 * queue pair stalled in them, in the runtime's (virtual) nanoseconds. A liveness figure: the wait
 * never makes a fault unsafe, only late. The consolidated path never waits here.
 */
final class UmemOdpLiveness {
  private final SyncRuntime runtime;
  private final AtomicLong waits = new AtomicLong();
  private final AtomicLong timeouts = new AtomicLong();
  private final AtomicLong stallNanos = new AtomicLong();

  UmemOdpLiveness(SyncRuntime runtime) {
    this.runtime = runtime;
  }

  /** Waits for {@code c} at most {@code timeoutNanos}, counting the wait. */
  void waitFor(Completion c, long timeoutNanos) {
    long t0 = runtime.clock().nanoTime();
    waits.incrementAndGet();
    if (!c.waitForCompletionTimeout(timeoutNanos)) {
      timeouts.incrementAndGet();
    }
    stallNanos.addAndGet(runtime.clock().nanoTime() - t0);
  }

  long waits() {
    return waits.get();
  }

  long timeouts() {
    return timeouts.get();
  }

  long stallNanos() {
    return stallNanos.get();
  }
}
