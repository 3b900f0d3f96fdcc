package io.mmulab.driver.umemodp;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.sim.dev.DmaJob;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import io.mmulab.sim.nic.NicMemoryRegion;
import io.mmulab.sim.nic.NicWorkRequest;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The driver SPI's view of one mlx5 ODP context, playing the application too: {@link #read} and
 * {@link #write} post an RDMA READ or WRITE on an explicit ODP region covering the address, which
 * the first access registers (over the 2 MiB-aligned blocks around it, as an application
 * registering its buffers would); {@link #submit} posts one on the implicit region (the whole
 * address space, children created by the fault handler); {@link #prefetch} advises the explicit
 * region ({@code ibv_advise_mr} prefetch). Every NIC access goes through the region's MTT, a miss
 * is an ODP page fault the driver resolves while the queue pair stalls.
 *
 * <p>Counters: a fault per MTT entry written, a retry per {@code -EAGAIN} (an invalidation
 * collided), an invalidation per umem an invalidation reached, a refusal per non-blockable range
 * refused (consolidated; the legacy notifier refuses for the whole address space and is counted
 * nowhere). Nothing is pinned.
 */
public final class UmemOdpAdapter extends SimDriverAdapter {
  private final Mlx5Odp dev;

  UmemOdpAdapter(Mlx5Odp dev) {
    super(UmemOdpFactory.NAME);
    this.dev = Objects.requireNonNull(dev, "dev is null");
  }

  @Override
  protected DriverStats stats() {
    return dev.stats();
  }

  @Override
  public DriverVariant variant() {
    return dev.variant();
  }

  /**
   * Returns how many times the legacy fault path waited for an invalidation's completion after
   * {@code -EAGAIN}, how many of those waits timed out, and the nanoseconds the queue pair stalled
   * in them (virtual time under the deterministic runtime). Always zero for the consolidated
   * variant, whose fault path never waits there.
   *
   * @return {waits, timeouts, stall nanoseconds}
   */
  public long[] completionWaits() {
    UmemOdpLiveness l = dev.liveness();
    return new long[] {l.waits(), l.timeouts(), l.stallNanos()};
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    DmaJob job = post(NicWorkRequest.rdmaRead(explicit(va, words), va, words));
    return job.readResult(0);
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    checkWrite(va, data);
    post(NicWorkRequest.rdmaWrite(explicit(va, data.length), va, data));
  }

  private NicMemoryRegion explicit(long va, int words) throws ErrnoException {
    requireOpen(dev.isClosed(), dev.id());
    return dev.explicitMr(va, (long) words * Long.BYTES);
  }

  /** Posts and waits for the completion; a failed request throws its error. */
  private DmaJob post(NicWorkRequest wr) throws ErrnoException {
    DmaJob job = dev.nic().post(wr);
    job.fence().waitSignaled();
    if (job.error() != null) {
      throw job.error();
    }
    if (job.fence().error() != null) {
      throw job.fence().error();
    }
    return job;
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    checkPrefetch(va, length);
    requireOpen(dev.isClosed(), dev.id());
    dev.prefetch(va, va + length, write);
  }

  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    requireOpen(dev.isClosed(), dev.id());
    NicWorkRequest wr =
        data == null
            ? NicWorkRequest.rdmaRead(dev.implicitMr(), va, words)
            : NicWorkRequest.rdmaWrite(dev.implicitMr(), va, data);
    return fence(dev.nic().post(wr).fence());
  }

  @Override
  public void teardown() {
    dev.close();
  }

  @Override
  public String toString() {
    return "umem-odp adapter " + dev;
  }
}
