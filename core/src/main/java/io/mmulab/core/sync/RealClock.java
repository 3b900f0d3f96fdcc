package io.mmulab.core.sync;

import io.mmulab.api.sync.Clock;
import io.mmulab.core.LockDep;
import java.util.concurrent.locks.LockSupport;

final class RealClock implements Clock {
  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public void sleep(long nanos) {
    if (nanos < 0) {
      throw new IllegalArgumentException("negative sleep " + nanos);
    }
    LockDep.mightSleep("sleeping " + nanos + " ns");
    long deadline = System.nanoTime() + nanos;
    for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
      LockSupport.parkNanos(left);
    }
  }
}
