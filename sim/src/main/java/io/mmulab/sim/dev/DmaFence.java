package io.mmulab.sim.dev;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A one-shot completion of asynchronous device work (kernel {@code struct dma_fence}), named by its
 * timeline and sequence number ({@code gpu0.ring#7}).
 *
 * <ul>
 *   <li>{@link #signal()} signals once; a second call changes nothing and returns false (the
 *       kernel's {@code dma_fence_signal} returns {@code -EINVAL} then). {@link
 *       #signal(ErrnoException)} records an error first (kernel {@code dma_fence_set_error}).
 *   <li>{@link #addCallback} follows {@code dma_fence_add_callback}: on an already signaled fence
 *       it returns false and does <em>not</em> run the callback ({@code -ENOENT}); {@link
 *       #whenSignaled} runs it at once instead. Callbacks run in the signalling thread, in the
 *       order added, with the fence's spin lock held (atomic context, as in the kernel): they must
 *       not sleep or take a mutex, which the lock rules report.
 *   <li>{@link #waitTimeout} and {@link #waitSignaled} go through a runtime wait queue: scheduling
 *       points under the deterministic runtime, with timeouts in virtual time.
 *   <li>Fault injection: under the deterministic runtime, a {@link #waitTimeout} with a finite
 *       timeout on a fence not yet signaled asks the run's {@code fenceTimesOut()} knob; when it
 *       says yes, the wait sleeps the whole timeout and returns false even if the fence signals
 *       meanwhile (to the waiter, a fence that never signals). {@link #waitSignaled} and waits with
 *       {@link Long#MAX_VALUE} cannot time out and never ask. Other runtimes have no knob.
 * </ul>
 *
 * <p>Locking: {@code lock} (a spin lock, so fences can be signalled and queried from atomic
 * context) guards {@code callbacks} and the transition to signaled; {@code signaled} and {@code
 * error} are volatile so that {@link #isSignaled} and {@link #error} take no lock (callbacks may
 * call them). The error is written before {@code signaled}.
 */
public final class DmaFence {
  private final String timeline;
  private final long seqno;
  private final String name;
  private final SyncRuntime runtime;
  private final DeviceFaults faults;
  private final SpinLock lock;
  private final WaitQueue waiters;

  private volatile boolean signaled;
  private volatile @Nullable ErrnoException error;
  private final List<Runnable> callbacks = new ArrayList<>(); // guarded by lock

  /**
   * Creates an unsignaled fence; usually made by {@link FenceTimeline#createFence()}.
   *
   * @param runtime where its lock, wait queue and clock come from
   * @param timeline the name of its timeline (kernel: fence context)
   * @param seqno its sequence number on the timeline
   */
  public DmaFence(SyncRuntime runtime, String timeline, long seqno) {
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.timeline = Objects.requireNonNull(timeline, "timeline is null");
    this.seqno = seqno;
    this.name = timeline + "#" + seqno;
    this.faults = DeviceFaults.of(runtime);
    this.lock = runtime.newSpinLock("fence " + name + ".lock");
    this.waiters = runtime.newWaitQueue("fence " + name);
  }

  /**
   * Returns the timeline's name (kernel: {@code fence->context}).
   *
   * @return the timeline
   */
  public String timeline() {
    return timeline;
  }

  /**
   * Returns the sequence number on the timeline (kernel: {@code fence->seqno}).
   *
   * @return the sequence number
   */
  public long seqno() {
    return seqno;
  }

  /**
   * Returns {@code timeline#seqno}.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Signals the fence: runs the callbacks (under the fence lock), then wakes every waiter.
   *
   * @return true if this call signaled it, false if it was already signaled (nothing changes)
   */
  public boolean signal() {
    return signal(null);
  }

  /**
   * Records {@code failure} as the fence's error, then signals (kernel {@code dma_fence_set_error}
   * followed by {@code dma_fence_signal}). On an already signaled fence nothing changes.
   *
   * @param failure why the work failed, or null for success
   * @return true if this call signaled the fence
   */
  public boolean signal(@Nullable ErrnoException failure) {
    boolean signalledNow = false;
    lock.lock();
    try {
      if (signaled) {
        return false;
      }
      error = failure;
      signaled = true;
      signalledNow = true;
      List<Runnable> toRun = new ArrayList<>(callbacks);
      callbacks.clear();
      for (Runnable cb : toRun) {
        cb.run();
      }
    } finally {
      lock.unlock();
      if (signalledNow) {
        waiters.wakeUpAll(); // even if a callback threw: waiters must not hang
      }
    }
    return true;
  }

  /**
   * Tells whether the fence is signaled (kernel {@code dma_fence_is_signaled}). Not a scheduling
   * point.
   *
   * @return true once signaled
   */
  public boolean isSignaled() {
    return signaled;
  }

  /**
   * Returns the error the fence was signaled with (kernel {@code dma_fence_get_status} below 0).
   *
   * @return the error, or null if not signaled or signaled successfully
   */
  public @Nullable ErrnoException error() {
    return error;
  }

  /**
   * Adds a callback to run when the fence signals (kernel {@code dma_fence_add_callback}).
   *
   * @param callback runs once, in the signalling thread, with the fence lock held; must not sleep
   * @return true if added; false if the fence is already signaled, in which case the callback is
   *     not run (the kernel's {@code -ENOENT}: the caller handles it)
   */
  public boolean addCallback(Runnable callback) {
    Objects.requireNonNull(callback, "callback is null");
    lock.lock();
    try {
      if (signaled) {
        return false;
      }
      callbacks.add(callback);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Runs {@code callback} when the fence signals, or now (in the calling thread, without the fence
   * lock) if it already has.
   *
   * @param callback what to run
   * @return true if it was deferred, false if it ran now
   */
  public boolean whenSignaled(Runnable callback) {
    if (addCallback(callback)) {
      return true;
    }
    callback.run();
    return false;
  }

  /**
   * Removes a callback added earlier, by identity (kernel {@code dma_fence_remove_callback}).
   *
   * @param callback the callback
   * @return true if it was pending and will not run; false if it ran or was never added
   */
  public boolean removeCallback(Runnable callback) {
    lock.lock();
    try {
      for (int i = 0; i < callbacks.size(); i++) {
        if (callbacks.get(i) == callback) {
          callbacks.remove(i);
          return true;
        }
      }
      return false;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until the fence signals or {@code timeoutNanos} pass on the runtime's clock (kernel
   * {@code dma_fence_wait_timeout}, uninterruptible). May be made to time out by fault injection
   * (see the class comment).
   *
   * @param timeoutNanos the longest wait, not negative; 0 only tests; {@link Long#MAX_VALUE} never
   *     times out
   * @return true if signaled, false on timeout
   */
  public boolean waitTimeout(long timeoutNanos) {
    if (timeoutNanos < 0) {
      throw new IllegalArgumentException("negative timeout " + timeoutNanos + " on fence " + name);
    }
    if (!signaled && timeoutNanos != Long.MAX_VALUE && faults.fenceTimesOut()) {
      runtime.clock().sleep(timeoutNanos);
      return false;
    }
    return waiters.waitEventTimeout(() -> signaled, timeoutNanos);
  }

  /** Waits until the fence signals, without timeout (kernel {@code dma_fence_wait(f, false)}). */
  public void waitSignaled() {
    waiters.waitEvent(() -> signaled);
  }

  @Override
  public String toString() {
    return "fence " + name + (signaled ? (error == null ? " signaled" : " failed") : "");
  }
}
