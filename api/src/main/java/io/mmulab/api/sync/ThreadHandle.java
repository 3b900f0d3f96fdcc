package io.mmulab.api.sync;

/** A thread started through {@link SyncRuntime#spawn}. */
public interface ThreadHandle {
  /**
   * Returns the name given at creation.
   *
   * @return the thread's name
   */
  String name();

  /**
   * Waits for the thread to finish, then rethrows whatever it threw (wrapped if checked).
   *
   * @throws RuntimeException or Error: what the thread's body threw
   */
  void join();

  /**
   * Tells whether the thread has finished.
   *
   * @return true once the body returned or threw
   */
  boolean isDone();
}
