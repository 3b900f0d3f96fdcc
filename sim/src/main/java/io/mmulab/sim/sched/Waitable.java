package io.mmulab.sim.sched;

import java.util.List;

/** Something a simulated thread can block on; it describes the wait for deadlock reports. */
interface Waitable {
  /**
   * Describes what {@code waiter} waits for, naming the object and, for locks, its holders.
   *
   * @param waiter a thread blocked on this
   * @return for instance {@code "mutex A, held by t2"}
   */
  String describeWait(SimThread waiter);

  /**
   * Tells whether a sleeper here re-checks its condition after any wake-up, so the fault injector
   * may wake it spuriously.
   *
   * @return true for wait queues and completions
   */
  default boolean spuriousWakeable() {
    return false;
  }

  /**
   * Returns the threads whose progress a waiter here depends on: a lock's holders, or the thread a
   * join waits for. Empty for events anyone may signal (wait queues, completions, sleeps).
   *
   * @return the threads, in creation order
   */
  default List<SimThread> holders() {
    return List.of();
  }

  /**
   * Returns the threads whose progress {@code waiter} depends on; by default {@link #holders()}. A
   * reader of a writer-preferring semaphore also waits for the writers queued before it.
   *
   * @param waiter a thread blocked on this
   * @return the threads
   */
  default List<SimThread> blockers(SimThread waiter) {
    return holders();
  }
}
