package io.mmulab.sim.sched;

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
}
