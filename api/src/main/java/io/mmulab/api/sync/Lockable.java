package io.mmulab.api.sync;

/**
 * Anything the lock rules can ask "does the current thread hold you?": mutexes, spin locks and
 * read-write semaphores. Identity is the object itself.
 */
public interface Lockable {
  /**
   * Returns the name given at creation, used in violation messages and traces.
   *
   * @return the lock's name
   */
  String name();

  /**
   * Tells whether the calling thread holds this lock (for a read-write semaphore: in either mode).
   *
   * @return true if held by the calling thread
   */
  boolean isHeldByCurrentThread();
}
