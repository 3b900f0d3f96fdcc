package io.mmulab.sim.driver;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverCounters;
import io.mmulab.api.driver.JobFence;
import io.mmulab.sim.dev.DmaFence;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the adapters of the simulated drivers share: the driver's name, {@link #counters()} from its
 * {@link DriverStats}, the argument checks of the SPI's verbs, the torn-down check and the two
 * kinds of {@link JobFence} a simulated driver returns (a job that already ran: {@link
 * SignaledFence}; a {@link DmaFence}).
 */
public abstract class SimDriverAdapter implements DriverAdapter {
  private final String driver;

  /**
   * Creates the adapter part of a device context.
   *
   * @param driver the name of the factory that creates it
   */
  protected SimDriverAdapter(String driver) {
    this.driver = Objects.requireNonNull(driver, "driver is null");
  }

  /**
   * Returns the counters the driver behind this adapter increments.
   *
   * @return the driver's counters, the same object on every call
   */
  protected abstract DriverStats stats();

  @Override
  public final String driver() {
    return driver;
  }

  @Override
  public final DriverCounters counters() {
    return stats().snapshot();
  }

  /**
   * Checks the arguments of a word access ({@code read}, {@code write}, a job).
   *
   * @param va the first address
   * @param words how many words
   * @throws IllegalArgumentException unless {@code va} is 8-byte aligned and {@code words >= 1}
   */
  protected static void checkWords(long va, int words) {
    if ((va & 7) != 0 || words < 1) {
      throw new IllegalArgumentException(
          words + " words at 0x" + Long.toHexString(va) + ": need an aligned address, 1 word+");
    }
  }

  /**
   * Checks the arguments of a write.
   *
   * @param va the first address
   * @param data the words to write
   * @throws NullPointerException if {@code data} is null
   * @throws IllegalArgumentException as {@link #checkWords} does
   */
  protected static void checkWrite(long va, long[] data) {
    Objects.requireNonNull(data, "data is null");
    checkWords(va, data.length);
  }

  /**
   * Checks the arguments of a job ({@code submit}).
   *
   * @param va the first address
   * @param words how many words the job touches
   * @param data the words to write, or null for a read
   * @throws IllegalArgumentException if {@code data} is not {@code words} long, or as {@link
   *     #checkWords} does
   */
  protected static void checkJob(long va, int words, long @Nullable [] data) {
    if (data != null && data.length != words) {
      throw new IllegalArgumentException(data.length + " words of data for a job of " + words);
    }
    checkWords(va, words);
  }

  /**
   * Checks the arguments of a prefetch.
   *
   * @param va the first address
   * @param length bytes
   * @throws IllegalArgumentException unless {@code va} is page-aligned and {@code length} a
   *     positive multiple of the page size
   */
  protected static void checkPrefetch(long va, long length) {
    if ((va & (AddressSpace.PAGE_SIZE - 1)) != 0
        || length <= 0
        || (length & (AddressSpace.PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "prefetch of 0x" + Long.toHexString(va) + " + " + length + " is not page-aligned");
    }
  }

  /**
   * Fails a verb on a torn-down device context.
   *
   * @param closed whether the context is torn down
   * @param id the context's name, for the message
   * @throws ErrnoException {@code EINVAL} if {@code closed}
   */
  protected static void requireOpen(boolean closed, String id) throws ErrnoException {
    if (closed) {
      throw new ErrnoException(Errno.EINVAL, id + " is torn down");
    }
  }

  /**
   * Returns the fence of a job that ran synchronously: signaled from the start.
   *
   * @param error why the job failed, or null if it succeeded
   * @return the fence
   */
  protected static JobFence completed(@Nullable ErrnoException error) {
    return SignaledFence.of(error);
  }

  /**
   * Returns a device job's {@link DmaFence} as the SPI sees it.
   *
   * @param fence the job's fence
   * @return the same fence as a {@link JobFence}
   */
  protected static JobFence fence(DmaFence fence) {
    return new DmaJobFence(Objects.requireNonNull(fence, "fence is null"));
  }

  private record DmaJobFence(DmaFence fence) implements JobFence {
    @Override
    public boolean isSignaled() {
      return fence.isSignaled();
    }

    @Override
    public boolean waitTimeout(long timeoutNanos) {
      return fence.waitTimeout(timeoutNanos);
    }

    @Override
    public @Nullable ErrnoException error() {
      return fence.error();
    }
  }
}
