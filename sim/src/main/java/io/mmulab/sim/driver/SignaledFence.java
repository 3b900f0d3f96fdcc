package io.mmulab.sim.driver;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.JobFence;
import org.jspecify.annotations.Nullable;

/**
 * The fence of a job that already ran: a driver without a job queue runs the job inside {@code
 * submit} and returns this, signaled from the start, carrying the job's error if it failed. Waiting
 * on it never blocks.
 *
 * @param error why the job failed, or null if it succeeded
 */
public record SignaledFence(@Nullable ErrnoException error) implements JobFence {
  /** The fence of a job that succeeded. */
  public static final SignaledFence OK = new SignaledFence(null);

  /**
   * Returns the fence of a job that ran and ended as {@code error} says.
   *
   * @param error why the job failed, or null if it succeeded
   * @return {@link #OK} if {@code error} is null, else a fence carrying it
   */
  public static SignaledFence of(@Nullable ErrnoException error) {
    return error == null ? OK : new SignaledFence(error);
  }

  /** Always true: the job ran before the fence was made. */
  @Override
  public boolean isSignaled() {
    return true;
  }

  /** Returns true at once, without waiting. */
  @Override
  public boolean waitTimeout(long timeoutNanos) {
    return true;
  }
}
