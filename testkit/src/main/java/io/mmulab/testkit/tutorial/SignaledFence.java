package io.mmulab.testkit.tutorial;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.JobFence;

/** The fence of a job that already ran: signaled, with the job's error if it failed. */
record SignaledFence(ErrnoException error) implements JobFence {
  static final SignaledFence OK = new SignaledFence(null);

  @Override
  public boolean isSignaled() {
    return true;
  }

  @Override
  public boolean waitTimeout(long timeoutNanos) {
    return true;
  }
}
