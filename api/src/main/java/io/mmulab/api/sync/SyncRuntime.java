package io.mmulab.api.sync;

import java.util.function.Supplier;

/**
 * The factory of every lock, wait queue, completion, clock and thread used by the core, the
 * simulated hardware and the drivers. Code written against it runs unchanged on real threads and
 * under the deterministic scheduler, where each {@link #yieldPoint}, lock acquisition and wait is a
 * place the scheduler may switch threads.
 */
public interface SyncRuntime {
  /**
   * Creates a sleeping lock.
   *
   * @param name a name for traces and violation messages
   * @return a new mutex
   */
  Mutex newMutex(String name);

  /**
   * Creates a spin lock.
   *
   * @param name a name for traces and violation messages
   * @return a new spin lock
   */
  SpinLock newSpinLock(String name);

  /**
   * Creates a reader-writer semaphore.
   *
   * @param name a name for traces and violation messages
   * @return a new semaphore
   */
  RwSemaphore newRwSemaphore(String name);

  /**
   * Creates a wait queue.
   *
   * @param name a name for traces
   * @return a new wait queue
   */
  WaitQueue newWaitQueue(String name);

  /**
   * Creates a completion, not yet completed.
   *
   * @param name a name for traces
   * @return a new completion
   */
  Completion newCompletion(String name);

  /**
   * Returns this runtime's clock.
   *
   * @return the clock
   */
  Clock clock();

  /**
   * Marks a place where a race can open (after a page lookup, before taking a lock, between an
   * invalidation's start and the page-table change). Free on real threads; under the deterministic
   * runtime, the scheduler may run another thread here.
   *
   * @param label what happens here, recorded in traces
   */
  void yieldPoint(String label);

  /**
   * Records a detail of what the calling thread does (a sequence read, a checker event) in the
   * trace, without a scheduling point, when this runtime keeps a journal: the deterministic runtime
   * does when a race report replays a run to draw it. Otherwise it does nothing and {@code label}
   * is never called, so the core may journal on hot paths.
   *
   * @param label builds the text of the detail
   */
  default void journal(Supplier<String> label) {}

  /**
   * Starts a thread running {@code body}.
   *
   * @param name a name for traces
   * @param body what the thread does
   * @return a handle to join the thread
   */
  ThreadHandle spawn(String name, Runnable body);
}
