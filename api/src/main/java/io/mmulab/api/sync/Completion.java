package io.mmulab.api.sync;

/**
 * A one-shot or counted event (kernel {@code struct completion}): waiters sleep until {@link
 * #complete} or {@link #completeAll}.
 */
public interface Completion {
  /** Lets one waiter (present or future) through (kernel {@code complete}). */
  void complete();

  /** Lets every waiter, present and future, through (kernel {@code complete_all}). */
  void completeAll();

  /** Sleeps until completed, consuming one completion (kernel {@code wait_for_completion}). */
  void waitForCompletion();

  /**
   * Like {@link #waitForCompletion()} with a timeout.
   *
   * @param timeoutNanos the longest time to wait, on the runtime's clock
   * @return true if completed, false on timeout
   */
  boolean waitForCompletionTimeout(long timeoutNanos);

  /**
   * Tells whether a wait would return at once (kernel {@code completion_done}).
   *
   * @return true if completed and not yet consumed
   */
  boolean isDone();
}
