package io.mmulab.api.driver;

import io.mmulab.api.ErrnoException;
import org.jspecify.annotations.Nullable;

/**
 * Completion of an asynchronous device job (kernel {@code struct dma_fence}), as scenarios see it.
 */
public interface JobFence {
  /**
   * Tells whether the job is done with its memory.
   *
   * @return true once signaled
   */
  boolean isSignaled();

  /**
   * Waits for the job, on the machine's clock.
   *
   * @param timeoutNanos the longest wait
   * @return true if signaled, false on timeout
   */
  boolean waitTimeout(long timeoutNanos);

  /**
   * Returns why the job failed, if it did.
   *
   * @return the error, or null if the job succeeded or is not done
   */
  @Nullable ErrnoException error();
}
