package io.mmulab.api.sync;

import java.util.function.BooleanSupplier;

/**
 * Sleepers waiting for a condition (kernel {@code wait_queue_head_t}). The condition is evaluated
 * by the waiter, outside any lock of the queue, so it may take locks itself; a wake-up that happens
 * between the evaluation and the sleep is never lost.
 */
public interface WaitQueue {
  /**
   * Sleeps until {@code condition} is true (kernel {@code wait_event}). Returns at once if it is.
   *
   * @param condition what the caller waits for; re-evaluated after every wake-up
   */
  void waitEvent(BooleanSupplier condition);

  /**
   * Sleeps until {@code condition} is true or the timeout elapses (kernel {@code
   * wait_event_timeout}).
   *
   * @param condition what the caller waits for
   * @param timeoutNanos the longest time to wait, on the runtime's clock
   * @return true if the condition became true, false on timeout
   */
  boolean waitEventTimeout(BooleanSupplier condition, long timeoutNanos);

  /** Wakes every sleeper so each re-evaluates its condition (kernel {@code wake_up_all}). */
  void wakeUpAll();
}
