package io.mmulab.testkit.dmirror;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The driver SPI's view of one dmirror open: {@link #read} and {@link #write} are the READ and
 * WRITE commands on words (the device copies through its page table under the mutex and faults the
 * rest in), {@link #prefetch} is the fault path ({@code dmirror_fault}) on its own, and {@link
 * #teardown} closes the file.
 *
 * <p>dmirror has no asynchronous engine: its commands run to completion in the caller's thread.
 * {@link #submit} therefore runs the job synchronously and returns a fence that is already
 * signaled, carrying the job's error if it failed; nothing of the job touches memory after {@code
 * submit} returns.
 *
 * <p>Counters: a fault per {@code dmirror_range_fault} chunk (at most {@link
 * DmirrorMirror#FAULT_CHUNK} pages) committed to the device table, by any command; a retry per
 * lookup sent round again ({@code EBUSY} walk, {@code readRetry} true, or the legacy range found
 * invalid); an invalidation per callback of the mirror's subscription (the legacy {@code
 * hmm_mirror}'s {@code sync_cpu_device_pagetables} and {@code release} included) and of SNAPSHOT's
 * temporary ones. dmirror pins nothing.
 */
public final class DmirrorAdapter extends SimDriverAdapter {
  private final DmirrorMirror mirror;

  /**
   * Wraps an open mirror.
   *
   * @param mirror the mirror; the adapter closes it on {@link #teardown}
   */
  public DmirrorAdapter(DmirrorMirror mirror) {
    super(DmirrorFactory.NAME);
    this.mirror = Objects.requireNonNull(mirror, "mirror is null");
  }

  /**
   * Returns the mirror, for dmirror-specific commands.
   *
   * @return the mirror
   */
  public DmirrorMirror mirror() {
    return mirror;
  }

  @Override
  protected DriverStats stats() {
    return mirror.stats();
  }

  @Override
  public DriverVariant variant() {
    return mirror.variant();
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    requireOpen(mirror.isClosed(), mirror.id());
    return mirror.readWords(va, words);
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    checkWrite(va, data);
    requireOpen(mirror.isClosed(), mirror.id());
    mirror.writeWords(va, data);
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    checkPrefetch(va, length);
    requireOpen(mirror.isClosed(), mirror.id());
    mirror.fault(va, va + length, write);
  }

  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    requireOpen(mirror.isClosed(), mirror.id());
    try {
      if (data == null) {
        mirror.readWords(va, words);
      } else {
        mirror.writeWords(va, data);
      }
      return completed(null);
    } catch (ErrnoException e) {
      return completed(e);
    }
  }

  @Override
  public void teardown() {
    mirror.close();
  }

  @Override
  public String toString() {
    return "dmirror adapter " + mirror;
  }
}
