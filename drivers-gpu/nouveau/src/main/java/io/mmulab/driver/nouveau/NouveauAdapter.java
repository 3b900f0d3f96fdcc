package io.mmulab.driver.nouveau;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.gpu.GpuJob;
import java.util.List;
import java.util.Objects;

/**
 * The driver SPI's view of one nouveau SVM client. {@link #read}, {@link #write} and {@link
 * #submit} run GPU jobs on the VM: every access translates through the GPU page table, a miss is a
 * replayable fault on the VM's fault queue, resolved by {@link NouveauSvmm}'s fault handler (or
 * cancelled: the job fails with {@code EFAULT}). {@link #prefetch} resolves a fault window
 * directly, as the handler would.
 */
public final class NouveauAdapter implements DriverAdapter {
  private final NouveauSvmm svmm;

  NouveauAdapter(NouveauSvmm svmm) {
    this.svmm = Objects.requireNonNull(svmm, "svmm is null");
  }

  /**
   * Returns the SVM client, for nouveau-specific inspection.
   *
   * @return the svmm
   */
  public NouveauSvmm svmm() {
    return svmm;
  }

  @Override
  public String driver() {
    return NouveauFactory.NAME;
  }

  @Override
  public DriverVariant variant() {
    return svmm.variant();
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    GpuJob job = GpuJob.builder("read").read(va, words).build();
    runToCompletion(job);
    return job.readResult(0);
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    Objects.requireNonNull(data, "data is null");
    checkWords(va, data.length);
    runToCompletion(GpuJob.builder("write").write(va, data).build());
  }

  private void runToCompletion(GpuJob job) throws ErrnoException {
    DmaFence fence = submitJob(job);
    fence.waitSignaled();
    if (job.error() != null) {
      throw job.error();
    }
    if (fence.error() != null) {
      throw fence.error();
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
    requireOpen();
    svmm.resolveWindow(va, va + length, write);
  }

  @Override
  public JobFence submit(long va, int words, long[] data) throws ErrnoException {
    if (data != null && data.length != words) {
      throw new IllegalArgumentException(data.length + " words of data for a job of " + words);
    }
    checkWords(va, words);
    GpuJob.Builder b = GpuJob.builder("job");
    GpuJob job = (data == null ? b.read(va, words) : b.write(va, data)).build();
    return new Fence(submitJob(job));
  }

  private DmaFence submitJob(GpuJob job) throws ErrnoException {
    requireOpen();
    return svmm.gpu().submit(svmm.vm(), job, List.of());
  }

  @Override
  public void teardown() {
    svmm.close();
  }

  private void requireOpen() throws ErrnoException {
    if (svmm.isClosed()) {
      throw new ErrnoException(Errno.EINVAL, svmm.id() + " is torn down");
    }
  }

  private static void checkWords(long va, int words) {
    if ((va & 7) != 0 || words < 1) {
      throw new IllegalArgumentException(
          words + " words at 0x" + Long.toHexString(va) + ": need an aligned address, 1 word+");
    }
  }

  @Override
  public String toString() {
    return "nouveau adapter " + svmm;
  }

  /** A GPU job's fence as the SPI sees it. */
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
