package io.mmulab.driver.vhost;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.hmm.HmmRange;
import org.jspecify.annotations.Nullable;

/**
 * What the device reaches of the VMM's memory, and what it tells the coherency checker: the
 * simulated machine in {@link VhostSimHw}, a one-page model in the Lincheck test. Addresses are the
 * VMM's; {@code pfn}s are the frames behind them.
 */
interface VhostHw {
  /** Fast GUP of one page: its frame with a reference taken, or -1; never faults or sleeps. */
  long getPageFast(long va, boolean write);

  /** Drops a reference {@link #getPageFast} took. */
  void putPage(long pfn);

  /** Faults the range's pages in (may sleep) and snapshots them: hmm_range_fault. */
  void faultIn(HmmRange range) throws ErrnoException;

  /** A read through a map: the device reaches {@code pfn}. */
  long mapRead(long va, long pfn);

  /** A write through a map. */
  void mapWrite(long va, long pfn, long value);

  /** The slow path: {@code copy_from_user} of one word through the CPU page table. */
  long copyFromUser(long va) throws ErrnoException;

  /** The slow path: {@code copy_to_user}. */
  void copyToUser(long va, long value) throws ErrnoException;

  /**
   * A map of {@code va -> pfn} was published, invalidated only by {@code subscription}'s callbacks
   * (null: any).
   */
  void mapped(@Nullable String subscription, long va, long pfn, boolean writable);

  /** The maps of every page of {@code [start, end)} were unpublished. */
  void unmapped(long start, long end);

  void subscribed(String subscription, long start, long end);

  void unsubscribed(String subscription);

  void callbackEntered(String subscription, long start, long end);

  void callbackReturned(String subscription, long start, long end, long seq);

  void tornDown();
}
