package io.mmulab.sim.dev;

import io.mmulab.api.sync.SyncRuntime;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fence context (kernel {@code dma_fence_context_alloc} plus the seqno counter a ring keeps):
 * hands out {@link DmaFence}s numbered 1, 2, 3… Fences of one timeline are meant to signal in seqno
 * order; a {@link DmaEngine} with one engine thread and no injected reordering does.
 */
public final class FenceTimeline {
  private final SyncRuntime runtime;
  private final String name;
  private final AtomicLong lastSeqno = new AtomicLong();

  /**
   * Creates a timeline.
   *
   * @param runtime given to every fence
   * @param name names the fences ({@code name#seqno}); choose it deterministically (traces show it)
   */
  public FenceTimeline(SyncRuntime runtime, String name) {
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.name = Objects.requireNonNull(name, "name is null");
  }

  /**
   * Creates the next fence, unsignaled.
   *
   * @return a fence with the next seqno
   */
  public DmaFence createFence() {
    return new DmaFence(runtime, name, lastSeqno.incrementAndGet());
  }

  /**
   * Returns the timeline's name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Returns the seqno of the last fence created, 0 if none.
   *
   * @return the last seqno
   */
  public long lastSeqno() {
    return lastSeqno.get();
  }
}
