package io.mmulab.api.driver;

import io.mmulab.api.ErrnoException;
import org.jspecify.annotations.Nullable;

/**
 * One device context of a driver bound to one process: the common verbs scenarios drive.
 * Family-specific operations live in the driver module.
 *
 * <p>Every access goes through the device's own translations (device page table, TLB, pinned pages
 * or registration cache, depending on the driver), populated the way the driver variant does it;
 * the coherency checker sees each one. Addresses are page-aligned where noted.
 *
 * <p>Threads: {@link #read}, {@link #write}, {@link #prefetch} and {@link #submit} may be called
 * from several threads at once, as concurrent ioctls and device faults reach a kernel driver (the
 * conformance scenarios fault from two device threads together), and while the process changes or
 * exits. {@link #teardown} is called when no verb of this adapter is running, possibly after the
 * process exited and with submitted jobs still in flight; it must leave no job running on the
 * device and no callback able to reach it. A verb that races an {@code munmap}, {@code mprotect},
 * exit and so on may fail with any {@link ErrnoException}; it must never use a stale translation.
 */
public interface DriverAdapter extends AutoCloseable {
  /**
   * Returns the driver's name.
   *
   * @return the name of the factory that created this adapter
   */
  String driver();

  /**
   * Returns the variant this adapter runs.
   *
   * @return the variant
   */
  DriverVariant variant();

  /**
   * Has the device read {@code words} 64-bit words of user memory from {@code va}.
   *
   * @param va the first address, 8-byte aligned
   * @param words how many words, at least 1
   * @return the words read
   * @throws ErrnoException as the driver's path fails (for example {@code EFAULT} for a hole)
   */
  long[] read(long va, int words) throws ErrnoException;

  /**
   * Has the device write {@code data} to user memory from {@code va}.
   *
   * @param va the first address, 8-byte aligned
   * @param data the words to write
   * @throws ErrnoException as the driver's path fails
   */
  void write(long va, long[] data) throws ErrnoException;

  /**
   * Populates the device's translations for {@code [va, va + length)} ahead of use.
   *
   * @param va the first address, page-aligned
   * @param length bytes, a positive multiple of the page size
   * @param write whether the translations must be writable
   * @throws ErrnoException as the driver's path fails
   */
  void prefetch(long va, long length, boolean write) throws ErrnoException;

  /**
   * Submits an asynchronous device job that writes {@code data} to {@code va} (or reads, if {@code
   * data} is null, {@code words} words) and returns at once; the fence signals when the device is
   * done with the job's memory.
   *
   * @param va the first address, 8-byte aligned
   * @param words the number of words the job touches
   * @param data the words to write, or null for a read
   * @return the job's fence
   * @throws ErrnoException as the driver's submission path fails
   */
  JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException;

  /**
   * Returns what the driver counted since this adapter was created: device faults handled,
   * collisions its retry check saw, invalidate callbacks received and refused, pages pinned and
   * unpinned (see {@link DriverCounters} for what each counts exactly).
   *
   * <p>A snapshot: safe to call from any thread at any time, also while verbs and callbacks run and
   * after {@link #teardown}. Monotonic: no count of a later snapshot is smaller than the same count
   * of an earlier one, so {@link DriverCounters#minus} of two snapshots is what happened in between
   * (exactly, once the adapter is quiet).
   *
   * @return the counts so far
   */
  DriverCounters counters();

  /**
   * Tears the device context down: removes the driver's subscriptions and drops every translation.
   * Idempotent.
   */
  void teardown();

  /** Same as {@link #teardown()}. */
  @Override
  default void close() {
    teardown();
  }
}
