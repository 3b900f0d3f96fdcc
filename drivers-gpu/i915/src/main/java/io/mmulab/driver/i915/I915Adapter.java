package io.mmulab.driver.i915;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import io.mmulab.sim.gpu.GpuJob;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The scenario verbs on i915: each is an execbuf of a batch over userptr objects. {@code read} and
 * {@code write} submit a batch and wait for its fence, {@code submit} returns the fence, {@code
 * prefetch} only validates and binds the objects (execbuf of an empty batch). The variant is the
 * {@link I915Userptr} strategy: {@link I915LegacyUserptr} or {@link I915ConsolidatedUserptr}.
 *
 * <p>Counters: a fault per execbuf that bound pages it pinned (consolidated: every execbuf whose
 * {@code readRetry} passed, since each one re-pins its objects; legacy: an execbuf that had to pin
 * at least one object); a retry per execbuf restart ({@code -EAGAIN}: a {@code readRetry} true, or
 * legacy pages put by an invalidation meanwhile); an invalidation per notifier callback (one per
 * object's interval notifier, or per call of the legacy classic {@code invalidate_range_start}); a
 * pin per page pinned with {@code FOLL_PIN} and an unpin per page let go.
 */
public final class I915Adapter extends SimDriverAdapter {
  private final I915Userptr userptr;
  private int jobs;

  I915Adapter(I915Userptr userptr) {
    super(I915Factory.NAME);
    this.userptr = Objects.requireNonNull(userptr, "userptr is null");
  }

  @Override
  protected DriverStats stats() {
    return userptr.stats;
  }

  @Override
  public DriverVariant variant() {
    return userptr.variant();
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    GpuJob job = GpuJob.builder(jobName("read")).read(va, words).build();
    DmaFence fence = execbufJob(va, va + 8L * words, false, job);
    fence.waitSignaled();
    if (job.error() != null) {
      throw job.error();
    }
    return job.readResult(0);
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    checkWrite(va, data);
    GpuJob job = GpuJob.builder(jobName("write")).write(va, data).build();
    DmaFence fence = execbufJob(va, va + 8L * data.length, true, job);
    fence.waitSignaled();
    if (job.error() != null) {
      throw job.error();
    }
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    checkPrefetch(va, length);
    userptr.execbuf(va, va + length, write, null);
  }

  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    GpuJob job =
        data == null
            ? GpuJob.builder(jobName("job-read")).read(va, words).build()
            : GpuJob.builder(jobName("job-write")).write(va, data).build();
    DmaFence fence = execbufJob(va, va + 8L * words, data != null, job);
    return fence(fence);
  }

  @Override
  public void teardown() {
    userptr.teardown();
  }

  private synchronized String jobName(String kind) {
    return kind + "#" + jobs++;
  }

  @Override
  public String toString() {
    return "i915 " + userptr.variant() + " adapter on " + userptr.hw.deviceId();
  }

  /** Runs execbuf with a job: it returns the job's fence. */
  private DmaFence execbufJob(long start, long end, boolean write, GpuJob job)
      throws ErrnoException {
    return Objects.requireNonNull(userptr.execbuf(start, end, write, job), "execbuf of a job");
  }
}
