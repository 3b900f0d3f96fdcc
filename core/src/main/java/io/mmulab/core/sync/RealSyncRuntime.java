package io.mmulab.core.sync;

import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;

/**
 * The runtime on real threads: {@code java.util.concurrent} locks, platform threads, {@link
 * System#nanoTime()}. Every lock reports to {@link io.mmulab.core.LockDep}; {@link #yieldPoint} is
 * an empty method the JIT removes.
 */
public final class RealSyncRuntime implements SyncRuntime {
  private static final RealSyncRuntime INSTANCE = new RealSyncRuntime();

  private final Clock clock = new RealClock();

  private RealSyncRuntime() {}

  /**
   * Returns the runtime; it has no state of its own, so one instance serves everybody.
   *
   * @return the real runtime
   */
  public static RealSyncRuntime get() {
    return INSTANCE;
  }

  @Override
  public Mutex newMutex(String name) {
    return new RealMutex(name);
  }

  @Override
  public SpinLock newSpinLock(String name) {
    return new RealSpinLock(name);
  }

  @Override
  public RwSemaphore newRwSemaphore(String name) {
    return new RealRwSemaphore(name);
  }

  @Override
  public WaitQueue newWaitQueue(String name) {
    return new RealWaitQueue(name, clock);
  }

  @Override
  public Completion newCompletion(String name) {
    return new RealCompletion(name, clock);
  }

  @Override
  public Clock clock() {
    return clock;
  }

  @Override
  public void yieldPoint(String label) {}

  @Override
  public ThreadHandle spawn(String name, Runnable body) {
    return RealThreadHandle.start(name, body);
  }
}
