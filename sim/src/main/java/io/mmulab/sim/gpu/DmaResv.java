package io.mmulab.sim.gpu;

import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.dev.DmaFence;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A reservation object (kernel {@code struct dma_resv}, bookkeep usage): the fences of the jobs
 * that may still access a buffer object or a GPU VM. {@link SimGpu#submit} adds a job's fence to
 * the resv of its VM and of each of its BOs <em>before</em> the job reaches the ring, so a {@link
 * #waitIdle} that starts after {@code submit} returned covers the job.
 *
 * <p>A fence signaled with an error counts as done (the job no longer touches memory). Signaled
 * fences are pruned whenever the list is read or extended.
 *
 * <p>Locking: {@code lock} (a spin lock, {@code <name>.lock}) guards the fence list and is a leaf
 * (held only inside this class, never while waiting). It is not the kernel's ww_mutex: drivers
 * serialize submission against invalidation with their own locks (docs/notifier.md, "With fences").
 */
public final class DmaResv {
  private final SyncRuntime runtime;
  private final String name;
  private final SpinLock lock;
  private final List<DmaFence> fences = new ArrayList<>(); // guarded by lock

  /**
   * Creates an empty (idle) reservation object.
   *
   * @param runtime where its lock and clock come from
   * @param name for traces
   */
  public DmaResv(SyncRuntime runtime, String name) {
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.name = Objects.requireNonNull(name, "name is null");
    this.lock = runtime.newSpinLock(name + ".lock");
  }

  /**
   * Returns the name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Adds a fence (kernel {@code dma_resv_add_fence}); an already signaled fence is not kept.
   *
   * @param fence the fence
   */
  public void addFence(DmaFence fence) {
    Objects.requireNonNull(fence, "fence is null");
    lock.lock();
    try {
      fences.removeIf(DmaFence::isSignaled);
      if (!fence.isSignaled() && !fences.contains(fence)) {
        fences.add(fence);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the fences not yet signaled.
   *
   * @return a snapshot, in the order added
   */
  public List<DmaFence> fences() {
    lock.lock();
    try {
      fences.removeIf(DmaFence::isSignaled);
      return List.copyOf(fences);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Tells whether every fence has signaled (kernel {@code dma_resv_test_signaled}).
   *
   * @return true if idle
   */
  public boolean isIdle() {
    return fences().isEmpty();
  }

  /**
   * Waits, uninterruptibly, for every fence present when called (kernel {@code
   * dma_resv_wait_timeout(resv, DMA_RESV_USAGE_BOOKKEEP, false, timeout)}). Fences added meanwhile
   * are not waited for. Timed in the runtime's clock (virtual time under the deterministic runtime,
   * where an injected fence timeout makes this return false). Sleeps: not in atomic context.
   *
   * @param timeoutNanos the longest wait; {@link Long#MAX_VALUE} for none
   * @return true if all those fences signaled, false on timeout
   */
  public boolean waitIdle(long timeoutNanos) {
    if (timeoutNanos < 0) {
      throw new IllegalArgumentException("negative timeout " + timeoutNanos + " on " + name);
    }
    List<DmaFence> snapshot = fences();
    if (timeoutNanos == Long.MAX_VALUE) {
      for (DmaFence f : snapshot) {
        f.waitSignaled();
      }
      return true;
    }
    long deadline = runtime.clock().nanoTime() + timeoutNanos;
    for (DmaFence f : snapshot) {
      if (f.isSignaled()) {
        continue;
      }
      long remaining = deadline - runtime.clock().nanoTime();
      if (remaining <= 0 || !f.waitTimeout(remaining)) {
        return false;
      }
    }
    return true;
  }

  /** Waits without timeout for every fence present when called ({@code waitIdle(MAX_VALUE)}). */
  public void waitIdle() {
    waitIdle(Long.MAX_VALUE);
  }

  @Override
  public String toString() {
    return "DmaResv[" + name + "]";
  }
}
