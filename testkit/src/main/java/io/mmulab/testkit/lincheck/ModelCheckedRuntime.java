package io.mmulab.testkit.lincheck;

import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.core.sync.RealSyncRuntime;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The real runtime, adapted for Lincheck model checking of a driver's own classes (Lincheck 3.7's
 * {@code Lincheck.runConcurrentTest}). Create one inside each invocation.
 *
 * <ul>
 *   <li>Every primitive comes from {@link RealSyncRuntime#get()}, called at each use rather than
 *       cached: Lincheck instruments classes lazily, when analysed code first touches them, and a
 *       runtime cached before the invocation would leave its locks uninstrumented (a contended lock
 *       then parks the thread behind the model checker's back).
 *   <li>Timed waits become untimed: Lincheck models a timed wait as an immediate return that lets
 *       no other thread run, so a driver's "wait until valid, with a timeout" would spin.
 *   <li>Optionally, a clock that advances a fixed step at every reading, so that a driver's
 *       deadline (such as the 1,000 ms HMM fault timeout) bounds its retry loops to a few rounds.
 * </ul>
 */
public final class ModelCheckedRuntime implements SyncRuntime {
  private final @Nullable Clock clock; // null: the real runtime's

  /** The real runtime's clock. */
  public ModelCheckedRuntime() {
    this.clock = null;
  }

  private ModelCheckedRuntime(Clock clock) {
    this.clock = clock;
  }

  /**
   * A runtime whose clock advances {@code nanosPerReading} at every reading and by the requested
   * time at every sleep, without waiting.
   *
   * @param nanosPerReading the step, positive
   * @return the runtime
   * @throws IllegalArgumentException if the step is not positive
   */
  public static ModelCheckedRuntime withSteppingClock(long nanosPerReading) {
    if (nanosPerReading <= 0) {
      throw new IllegalArgumentException("clock step must be positive: " + nanosPerReading);
    }
    return new ModelCheckedRuntime(
        new Clock() {
          private long now;

          @Override
          public long nanoTime() {
            now += nanosPerReading;
            return now;
          }

          @Override
          public void sleep(long nanos) {
            now += nanos;
          }
        });
  }

  @Override
  public Mutex newMutex(String name) {
    return RealSyncRuntime.get().newMutex(name);
  }

  @Override
  public SpinLock newSpinLock(String name) {
    return RealSyncRuntime.get().newSpinLock(name);
  }

  @Override
  public RwSemaphore newRwSemaphore(String name) {
    return RealSyncRuntime.get().newRwSemaphore(name);
  }

  @Override
  public WaitQueue newWaitQueue(String name) {
    WaitQueue real = RealSyncRuntime.get().newWaitQueue(name);
    return new WaitQueue() {
      @Override
      public void waitEvent(BooleanSupplier condition) {
        real.waitEvent(condition);
      }

      @Override
      public boolean waitEventTimeout(BooleanSupplier condition, long timeoutNanos) {
        real.waitEvent(condition);
        return true;
      }

      @Override
      public void wakeUpAll() {
        real.wakeUpAll();
      }
    };
  }

  @Override
  public Completion newCompletion(String name) {
    return RealSyncRuntime.get().newCompletion(name);
  }

  @Override
  public Clock clock() {
    return clock != null ? clock : RealSyncRuntime.get().clock();
  }

  @Override
  public void yieldPoint(String label) {
    RealSyncRuntime.get().yieldPoint(label);
  }

  @Override
  public ThreadHandle spawn(String name, Runnable body) {
    return RealSyncRuntime.get().spawn(name, body);
  }
}
