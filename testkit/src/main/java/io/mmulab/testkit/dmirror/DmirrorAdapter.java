package io.mmulab.testkit.dmirror;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import java.util.Objects;

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
 */
public final class DmirrorAdapter implements DriverAdapter {
  private final DmirrorMirror mirror;

  /**
   * Wraps an open mirror.
   *
   * @param mirror the mirror; the adapter closes it on {@link #teardown}
   */
  public DmirrorAdapter(DmirrorMirror mirror) {
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
  public String driver() {
    return DmirrorFactory.NAME;
  }

  @Override
  public DriverVariant variant() {
    return mirror.variant();
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    requireOpen();
    return mirror.readWords(va, words);
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    Objects.requireNonNull(data, "data is null");
    checkWords(va, data.length);
    requireOpen();
    mirror.writeWords(va, data);
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
    mirror.fault(va, va + length, write);
  }

  @Override
  public JobFence submit(long va, int words, long[] data) throws ErrnoException {
    if (data != null && data.length != words) {
      throw new IllegalArgumentException(data.length + " words of data for a job of " + words);
    }
    checkWords(va, words);
    requireOpen();
    try {
      if (data == null) {
        mirror.readWords(va, words);
      } else {
        mirror.writeWords(va, data);
      }
      return CompletedFence.SUCCESS;
    } catch (ErrnoException e) {
      return new CompletedFence(e);
    }
  }

  @Override
  public void teardown() {
    mirror.close();
  }

  private void requireOpen() throws ErrnoException {
    if (mirror.isClosed()) {
      throw new ErrnoException(Errno.EINVAL, mirror.id() + " is torn down");
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
    return "dmirror adapter " + mirror;
  }

  /** The fence of a job that ran synchronously: signaled from the start. */
  private record CompletedFence(ErrnoException error) implements JobFence {
    static final CompletedFence SUCCESS = new CompletedFence(null);

    @Override
    public boolean isSignaled() {
      return true;
    }

    @Override
    public boolean waitTimeout(long timeoutNanos) {
      return true;
    }
  }
}
