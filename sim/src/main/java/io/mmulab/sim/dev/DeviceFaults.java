package io.mmulab.sim.dev;

import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.sched.DeterministicRuntime;
import io.mmulab.sim.sched.FaultInjector;
import org.jspecify.annotations.Nullable;

/**
 * The device fault knobs of a runtime: those of the deterministic runtime's {@link FaultInjector},
 * or none at all (no delay, no reordering, no timeout) for any other runtime.
 */
final class DeviceFaults {
  private static final DeviceFaults NONE = new DeviceFaults(null);

  private final @Nullable FaultInjector injector; // null: no faults

  private DeviceFaults(@Nullable FaultInjector injector) {
    this.injector = injector;
  }

  /** The knobs of {@code runtime}. */
  static DeviceFaults of(SyncRuntime runtime) {
    return runtime instanceof DeterministicRuntime d ? new DeviceFaults(d.faults()) : NONE;
  }

  /** Scheduling steps to hold back the next DMA completion. */
  int dmaCompletionDelaySteps() {
    return injector == null ? 0 : injector.dmaCompletionDelaySteps();
  }

  /** Whether to complete the next two pending jobs out of order. */
  boolean reorderDmaCompletions() {
    return injector != null && injector.reorderDmaCompletions();
  }

  /** Whether the next fence wait times out although the fence would signal. */
  boolean fenceTimesOut() {
    return injector != null && injector.fenceTimesOut();
  }
}
