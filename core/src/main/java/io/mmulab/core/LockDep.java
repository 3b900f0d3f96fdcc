package io.mmulab.core;

import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.sync.Lockable;
import io.mmulab.api.sync.SpinLock;
import java.util.List;

/**
 * Our lockdep: every lock of every {@link io.mmulab.api.sync.SyncRuntime} reports to these hooks,
 * which track the locks each thread holds and which locks invalidate callbacks take, and throw
 * {@link LockRuleViolation} before a call that breaks a rule changes anything.
 *
 * <p>Lock identity is the lock object (not a lock class as in the kernel), which is exact for the
 * simulation and never reports a false dependency between two instances.
 *
 * <p>Deliberate difference: the kernel's dependencies on invalidations are global (one lockdep map
 * for every invalidate start); ours are per address space. A lock taken by any callback (interval,
 * or a classic start or end) of an address space must not be held across a {@code readBegin} or
 * {@code remove} on the same address space. Global sets would be state shared by every run, which
 * the model-checked tests (Lincheck) cannot snapshot.
 */
public final class LockDep {
  private LockDep() {}

  /**
   * Called by a runtime before a blocking acquisition of {@code lock}.
   *
   * @param lock the lock about to be taken
   * @param sleeping true for sleeping locks (mutexes, semaphores), false for spin locks
   * @throws LockRuleViolation for a recursive acquisition, sleeping in atomic context, or a
   *     callback taking a lock that was held across a wait for invalidations
   */
  public static void beforeAcquire(Lockable lock, boolean sleeping) {
    ThreadState ts = ThreadState.current();
    if (ts.held.contains(lock)) {
      throw new LockRuleViolation(
          LockRule.RECURSIVE_LOCK,
          Thread.currentThread().getName() + " takes " + lock.name() + ", which it already holds");
    }
    if (sleeping) {
      checkMaySleep(ts, lock);
    }
    for (ThreadState.CallbackFrame frame : ts.callbacks) {
      frame.subscriptions().checkCallbackMayTake(frame, lock);
    }
  }

  /**
   * Called by a runtime after {@code lock} was acquired (blocking or by a successful try-lock).
   *
   * @param lock the lock now held
   * @param trylock true if acquired by a try-lock, which cannot deadlock and so records no
   *     dependency
   */
  public static void acquired(Lockable lock, boolean trylock) {
    ThreadState ts = ThreadState.current();
    ts.held.add(lock);
    if (!trylock) {
      for (ThreadState.CallbackFrame frame : ts.callbacks) {
        frame.subscriptions().noteCallbackLock(lock);
      }
    }
  }

  /**
   * Called by a runtime before releasing {@code lock}.
   *
   * @param lock the lock about to be released
   * @throws LockRuleViolation if the calling thread does not hold it
   */
  public static void beforeRelease(Lockable lock) {
    ThreadState ts = ThreadState.current();
    int i = ts.held.lastIndexOf(lock);
    if (i < 0) {
      throw new LockRuleViolation(
          LockRule.UNLOCK_NOT_HELD,
          Thread.currentThread().getName()
              + " releases "
              + lock.name()
              + ", which it does not hold");
    }
    ts.held.remove(i);
  }

  /**
   * Called by a runtime before anything that may sleep: waits, completions, clock sleeps.
   *
   * @param what a description for the violation message
   * @throws LockRuleViolation if sleeping is not allowed here
   */
  public static void mightSleep(String what) {
    checkMaySleep(ThreadState.current(), what);
  }

  /** {@code what} is a String or the Lockable being taken; the message is built only on failure. */
  private static void checkMaySleep(ThreadState ts, Object what) {
    if (!ts.held.isEmpty() || !ts.callbacks.isEmpty()) {
      checkMaySleepSlow(ts, what);
    }
  }

  /**
   * Returns the locks the calling thread holds, oldest first.
   *
   * @return an unmodifiable copy
   */
  public static List<Lockable> heldLocks() {
    return List.copyOf(ThreadState.current().held);
  }

  /**
   * Tells whether the calling thread holds any lock created by a runtime.
   *
   * @return true if at least one is held
   */
  public static boolean holdsAnyLock() {
    return !ThreadState.current().held.isEmpty();
  }

  /**
   * Tells whether the calling thread is inside an invalidate callback.
   *
   * @return true inside a callback
   */
  public static boolean inCallback() {
    return !ThreadState.current().callbacks.isEmpty();
  }

  private static String describe(Object what) {
    return what instanceof Lockable l ? "taking " + l.name() : (String) what;
  }

  private static void checkMaySleepSlow(ThreadState ts, Object what) {
    for (Lockable l : ts.held) {
      if (l instanceof SpinLock) {
        throw new LockRuleViolation(
            LockRule.SLEEP_WHILE_ATOMIC,
            Thread.currentThread().getName()
                + " may sleep ("
                + describe(what)
                + ") holding "
                + l.name());
      }
    }
    for (ThreadState.CallbackFrame frame : ts.callbacks) {
      if (!frame.range().blockable()) {
        throw new LockRuleViolation(
            LockRule.SLEEP_IN_NONBLOCKABLE_CALLBACK,
            "callback of "
                + frame.who()
                + " for non-blockable "
                + frame.range()
                + " may sleep ("
                + describe(what)
                + ")");
      }
    }
  }
}
