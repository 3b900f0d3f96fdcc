package io.mmulab.driver.radeon;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.gpu.GpuJob;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** The fences of the per-BO jobs one adapter call was split into, as one {@link JobFence}. */
final class RadeonJobFence implements JobFence {
  private final SyncRuntime runtime;
  private final List<DmaFence> fences;
  private final List<GpuJob> jobs;

  RadeonJobFence(SyncRuntime runtime, List<DmaFence> fences, List<GpuJob> jobs) {
    this.runtime = runtime;
    this.fences = List.copyOf(fences);
    this.jobs = List.copyOf(jobs);
  }

  List<GpuJob> jobs() {
    return jobs;
  }

  /** Waits for every job without a timeout. */
  void waitAll() {
    fences.forEach(DmaFence::waitSignaled);
  }

  @Override
  public boolean isSignaled() {
    return fences.stream().allMatch(DmaFence::isSignaled);
  }

  @Override
  public boolean waitTimeout(long timeoutNanos) {
    long deadline = runtime.clock().nanoTime() + timeoutNanos;
    for (DmaFence f : fences) {
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

  @Override
  public @Nullable ErrnoException error() {
    for (GpuJob j : jobs) {
      ErrnoException e = j.error();
      if (e != null) {
        return e;
      }
    }
    return null;
  }
}
