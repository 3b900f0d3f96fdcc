package io.mmulab.sim.dev;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A device's replayable page-fault buffer (nouveau's fault buffer, mlx5's page-fault event queue):
 * a {@link DeviceMmu} built with this queue turns a missing or read-only translation into a {@link
 * DeviceFault} queued here, and the faulting access sleeps until the driver {@linkplain
 * DeviceFault#replay() replays} or {@linkplain DeviceFault#cancel() cancels} it. Several device
 * page tables may share one queue.
 *
 * <p>The driver takes faults with {@link #poll()} or {@link #take()}, or lets {@link #startHandler}
 * run a handler thread. {@link #close()} cancels every unresolved fault (their accesses fail),
 * makes later faults fail at once, wakes takers and joins the handler thread. Under the
 * deterministic runtime a handler thread or a {@code take()} blocked on an open queue keeps the run
 * alive (and is reported as a deadlock once everything else has ended): close the queue when done.
 *
 * <p>Locking: {@code lock}, a spin lock, guards {@code pending}, {@code unresolved}, {@code
 * closed}, the fault counter and every fault's state transition. {@code arrivals} wakes takers (a
 * fault queued, or closed); {@code resolutions} wakes faulting accesses (a fault resolved).
 */
public final class FaultQueue {
  /** What a handler thread does with each fault. */
  @FunctionalInterface
  public interface Handler {
    /**
     * Handles one fault: typically looks the page up, maps it in {@code fault.mmu()} under the
     * driver lock, then replays. A fault still pending when this returns is replayed; one whose
     * handler threw {@link ErrnoException} is cancelled.
     *
     * @param fault the fault
     * @throws ErrnoException if the page cannot be made available
     */
    void handle(DeviceFault fault) throws ErrnoException;
  }

  private final SyncRuntime runtime;
  private final String name;
  private final SpinLock lock;
  private final WaitQueue arrivals;
  private final WaitQueue resolutions;

  // Guarded by lock.
  private final ArrayDeque<DeviceFault> pending = new ArrayDeque<>();
  private final List<DeviceFault> unresolved = new ArrayList<>();
  private long raised;
  private volatile boolean closed; // written under lock
  private boolean handlerStarted;

  private volatile @Nullable ThreadHandle handler; // set once, by startHandler after spawning
  private final ThreadLocal<Boolean> inHandler = ThreadLocal.withInitial(() -> false);

  /**
   * Creates an open, empty queue.
   *
   * @param runtime where locks, waits and the handler thread come from
   * @param name for traces
   */
  public FaultQueue(SyncRuntime runtime, String name) {
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.name = Objects.requireNonNull(name, "name is null");
    this.lock = runtime.newSpinLock("faults " + name + ".lock");
    this.arrivals = runtime.newWaitQueue("faults " + name + ".arrivals");
    this.resolutions = runtime.newWaitQueue("faults " + name + ".resolutions");
  }

  /**
   * Returns the queue's name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Takes the oldest undelivered fault, if any.
   *
   * @return the fault, or null if none is queued
   */
  public DeviceFault poll() {
    lock.lock();
    try {
      return pending.poll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits for a fault and takes it.
   *
   * @return the oldest undelivered fault, or null once the queue is closed
   */
  public DeviceFault take() {
    while (true) {
      arrivals.waitEvent(() -> closed || hasPending());
      lock.lock();
      try {
        DeviceFault f = pending.poll();
        if (f != null || closed) {
          return f;
        }
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * Returns how many faults wait to be delivered.
   *
   * @return the number of undelivered faults
   */
  public int pending() {
    lock.lock();
    try {
      return pending.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns how many faults were raised since creation.
   *
   * @return the count
   */
  public long raisedCount() {
    lock.lock();
    try {
      return raised;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Tells whether {@link #close()} was called.
   *
   * @return true once closed
   */
  public boolean isClosed() {
    return closed;
  }

  /**
   * Starts a thread (named {@code <name>.handler}) that takes faults and hands them to {@code
   * handler} until the queue is closed (see {@link Handler} for what happens to the fault after).
   *
   * @param handler the driver's fault handler
   * @return the thread
   * @throws IllegalStateException if a handler was already started or the queue is closed
   */
  public ThreadHandle startHandler(Handler handler) {
    Objects.requireNonNull(handler, "handler is null");
    lock.lock();
    try {
      if (handlerStarted || closed) {
        throw new IllegalStateException(
            "fault queue " + name + (closed ? " is closed" : " already has a handler"));
      }
      handlerStarted = true;
    } finally {
      lock.unlock();
    }
    // Spawned outside the spin lock: spawning is a scheduling point and may allocate.
    ThreadHandle t =
        runtime.spawn(
            name + ".handler",
            () -> {
              inHandler.set(true);
              handlerLoop(handler);
            });
    this.handler = t;
    return t;
  }

  /**
   * Closes the queue: cancels every unresolved fault (delivered or not), makes later faults fail at
   * once, wakes takers, then joins the handler thread (unless called from it). Idempotent.
   */
  public void close() {
    lock.lock();
    try {
      closed = true;
      for (DeviceFault f : unresolved) {
        f.setState(DeviceFault.State.CANCELLED);
      }
      unresolved.clear();
      pending.clear();
    } finally {
      lock.unlock();
    }
    resolutions.wakeUpAll();
    arrivals.wakeUpAll();
    ThreadHandle h = handler;
    if (h != null && !inHandler.get()) {
      h.join();
    }
  }

  /** Queues a fault for {@code mmu} (or returns it cancelled if closed) and wakes takers. */
  DeviceFault raise(DeviceMmu mmu, long va, boolean write) {
    DeviceFault f;
    lock.lock();
    try {
      f = new DeviceFault(this, ++raised, mmu, va, write);
      if (closed) {
        f.setState(DeviceFault.State.CANCELLED);
        return f;
      }
      pending.add(f);
      unresolved.add(f);
    } finally {
      lock.unlock();
    }
    arrivals.wakeUpAll();
    return f;
  }

  /** Sleeps until {@code f} is resolved; true if replayed. */
  boolean awaitResolution(DeviceFault f) {
    resolutions.waitEvent(f::isResolved);
    return f.state() == DeviceFault.State.REPLAYED;
  }

  /** Resolves {@code f} if it is pending. */
  boolean resolve(DeviceFault f, DeviceFault.State to) {
    lock.lock();
    try {
      if (f.isResolved()) {
        return false;
      }
      f.setState(to);
      unresolved.remove(f);
      pending.remove(f);
    } finally {
      lock.unlock();
    }
    resolutions.wakeUpAll();
    return true;
  }

  private boolean hasPending() {
    lock.lock();
    try {
      return !pending.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  private void handlerLoop(Handler handler) {
    while (true) {
      DeviceFault f = take();
      if (f == null) {
        return;
      }
      try {
        handler.handle(f);
        f.replay();
      } catch (ErrnoException e) {
        f.cancel();
      } catch (RuntimeException e) {
        f.cancel(); // do not leave the access waiting on a handler that died
        throw e;
      }
    }
  }

  @Override
  public String toString() {
    return "FaultQueue[" + name + "]";
  }
}
