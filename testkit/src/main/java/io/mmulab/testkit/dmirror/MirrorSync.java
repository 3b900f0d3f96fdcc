package io.mmulab.testkit.dmirror;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;

/**
 * How a mirror learns about CPU page-table changes and validates a page-table lookup before it
 * programs the device: the part that differs between the variants.
 *
 * <ul>
 *   <li>{@link ConsolidatedSync}: one interval notifier over the whole address space; the
 *       collision-retry loop {@code readBegin} → lookup → update lock → {@code readRetry}.
 *   <li>{@link LegacySync}: the pre-5.5 {@code hmm_mirror}: a classic notifier and per-lookup
 *       ranges whose {@code valid} flag is cleared at invalidation start and set again at end.
 * </ul>
 */
abstract class MirrorSync {
  /** Kernel {@code HMM_RANGE_DEFAULT_TIMEOUT}: 1000 ms. */
  static final long TIMEOUT_NANOS = 1_000_000_000L;

  /**
   * One speculative page-table lookup and what to program from it.
   *
   * @param <T> the lookup's result
   */
  interface Attempt<T> {
    /**
     * Looks the pages up, without the update lock (it may take the mmap lock). {@link
     * io.mmulab.api.Errno#EBUSY} makes the loop start over.
     *
     * @param notifier the subscription to pass in an {@code HmmRange}
     * @param seq the value to pass with it
     * @return what was found
     * @throws ErrnoException as the lookup fails
     */
    T lookup(MmuIntervalNotifier notifier, long seq) throws ErrnoException;

    /**
     * Programs the device from {@code found}; called with the update lock held, only once the
     * lookup was validated.
     *
     * @param found the lookup's result
     * @throws ErrnoException to fail the whole loop
     */
    void commit(T found) throws ErrnoException;

    /**
     * Called once per lookup result after the update lock is dropped, whether it was committed or
     * discarded (to drop references the lookup took).
     *
     * @param found the lookup's result
     */
    default void finish(T found) {}
  }

  /** Subscribes to the address space (at open). */
  abstract void open() throws ErrnoException;

  /** Unsubscribes (at close); on return no callback runs or will run. */
  abstract void close();

  /**
   * Runs {@code attempt} until a lookup is validated and committed.
   *
   * @param start first address of the lookup, page-aligned
   * @param end exclusive end, page-aligned
   * @param privateNotifier whether to watch the range with a temporary subscription of its own (as
   *     SNAPSHOT does), rather than the mirror's
   * @param attempt the lookup and the programming
   * @param <T> the lookup's result
   * @return the committed result
   * @throws ErrnoException {@link io.mmulab.api.Errno#EBUSY} after {@link #TIMEOUT_NANOS}, or what
   *     the attempt throws
   */
  abstract <T> T retry(long start, long end, boolean privateNotifier, Attempt<T> attempt)
      throws ErrnoException;
}
