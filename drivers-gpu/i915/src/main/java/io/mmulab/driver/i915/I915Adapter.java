package io.mmulab.driver.i915;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.gpu.GpuJob;
import java.util.Objects;

/**
 * The scenario verbs on i915: each is an execbuf of a batch over userptr objects. {@code read} and
 * {@code write} submit a batch and wait for its fence, {@code submit} returns the fence, {@code
 * prefetch} only validates and binds the objects (execbuf of an empty batch). The variant is the
 * {@link I915Userptr} strategy: {@link I915LegacyUserptr} or {@link I915ConsolidatedUserptr}.
 */
public final class I915Adapter implements DriverAdapter {
  private final I915Userptr userptr;
  private int jobs;

  I915Adapter(I915Userptr userptr) {
    this.userptr = Objects.requireNonNull(userptr, "userptr is null");
  }

  @Override
  public String driver() {
    return I915Factory.NAME;
  }

  @Override
  public DriverVariant variant() {
    return userptr.variant();
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    GpuJob job = GpuJob.builder(jobName("read")).read(va, words).build();
    DmaFence fence = userptr.execbuf(va, va + 8L * words, false, job);
    fence.waitSignaled();
    if (job.error() != null) {
      throw job.error();
    }
    return job.readResult(0);
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    Objects.requireNonNull(data, "data is null");
    checkWords(va, data.length);
    GpuJob job = GpuJob.builder(jobName("write")).write(va, data).build();
    DmaFence fence = userptr.execbuf(va, va + 8L * data.length, true, job);
    fence.waitSignaled();
    if (job.error() != null) {
      throw job.error();
    }
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    if ((va & (AddressSpace.PAGE_SIZE - 1)) != 0
        || length <= 0
        || (length & (AddressSpace.PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "prefetch of 0x" + Long.toHexString(va) + " + " + length + " is not page-aligned");
    }
    userptr.execbuf(va, va + length, write, null);
  }

  @Override
  public JobFence submit(long va, int words, long[] data) throws ErrnoException {
    if (data != null && data.length != words) {
      throw new IllegalArgumentException(data.length + " words of data for a job of " + words);
    }
    checkWords(va, words);
    GpuJob job =
        data == null
            ? GpuJob.builder(jobName("job-read")).read(va, words).build()
            : GpuJob.builder(jobName("job-write")).write(va, data).build();
    DmaFence fence = userptr.execbuf(va, va + 8L * words, data != null, job);
    return new Fence(fence);
  }

  @Override
  public void teardown() {
    userptr.teardown();
  }

  private synchronized String jobName(String kind) {
    return kind + "#" + jobs++;
  }

  private static void checkWords(long va, int words) {
    if ((va & 7) != 0 || words < 1) {
      throw new IllegalArgumentException(
          words + " words at 0x" + Long.toHexString(va) + ": need an aligned address, 1 word+");
    }
  }

  @Override
  public String toString() {
    return "i915 " + userptr.variant() + " adapter on " + userptr.hw.deviceId();
  }

  /** A request's {@code dma_fence} as scenarios see it. */
  private record Fence(DmaFence fence) implements JobFence {
    @Override
    public boolean isSignaled() {
      return fence.isSignaled();
    }

    @Override
    public boolean waitTimeout(long timeoutNanos) {
      return fence.waitTimeout(timeoutNanos);
    }

    @Override
    public ErrnoException error() {
      return fence.error();
    }
  }
}
