package io.mmulab.driver.nouveau;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import io.mmulab.sim.gpu.GpuJob;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The driver SPI's view of one nouveau SVM client. {@link #read}, {@link #write} and {@link
 * #submit} run GPU jobs on the VM: every access translates through the GPU page table, a miss is a
 * replayable fault on the VM's fault queue, resolved by {@link NouveauSvmm}'s fault handler (or
 * cancelled: the job fails with {@code EFAULT}). {@link #prefetch} resolves a fault window
 * directly, as the handler would.
 *
 * <p>Counters: a fault per fault window (a replayed GPU fault or a prefetch) whose GPU PTEs were
 * written; a retry per window lookup sent round again ({@code EBUSY} walk, {@code readRetry} true,
 * or the legacy range found invalid); an invalidation per call of the PTE-clearing notifier ({@code
 * invalidate_range_start}, {@code release}) and, consolidated, of each fault's interval notifier.
 * nouveau pins nothing.
 */
public final class NouveauAdapter extends SimDriverAdapter {
  private final NouveauSvmm svmm;

  NouveauAdapter(NouveauSvmm svmm) {
    super(NouveauFactory.NAME);
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
  protected DriverStats stats() {
    return svmm.stats();
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
    checkWrite(va, data);
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
    checkPrefetch(va, length);
    requireOpen(svmm.isClosed(), svmm.id());
    svmm.resolveWindow(va, va + length, write);
  }

  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    GpuJob.Builder b = GpuJob.builder("job");
    GpuJob job = (data == null ? b.read(va, words) : b.write(va, data)).build();
    return fence(submitJob(job));
  }

  private DmaFence submitJob(GpuJob job) throws ErrnoException {
    requireOpen(svmm.isClosed(), svmm.id());
    return svmm.gpu().submit(svmm.vm(), job, List.of());
  }

  @Override
  public void teardown() {
    svmm.close();
  }

  @Override
  public String toString() {
    return "nouveau adapter " + svmm;
  }
}
