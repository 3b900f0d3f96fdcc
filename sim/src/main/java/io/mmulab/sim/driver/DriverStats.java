package io.mmulab.sim.driver;

import io.mmulab.api.driver.DriverCounters;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters a simulated driver embeds and increments where its code handles a device fault, sees
 * a collision, receives an invalidate callback or pins and unpins pages; {@link #snapshot} is what
 * its adapter's {@link io.mmulab.api.driver.DriverAdapter#counters()} returns. See {@link
 * DriverCounters} for what each count means.
 *
 * <p>Thread-safe and cheap under contention (one {@link LongAdder} per count): callbacks, fault
 * handlers and verbs on any thread may count at once.
 */
public final class DriverStats {
  private final LongAdder faults = new LongAdder();
  private final LongAdder retries = new LongAdder();
  private final LongAdder invalidations = new LongAdder();
  private final LongAdder refused = new LongAdder();
  private final LongAdder pinned = new LongAdder();
  private final LongAdder unpinned = new LongAdder();

  /** Counts one device fault handled: a fault or populate run that programmed the device. */
  public void fault() {
    faults.increment();
  }

  /** Counts one collision: the retry check said "again". */
  public void retry() {
    retries.increment();
  }

  /** Counts one invalidate callback received; call it on entry, before deciding to refuse. */
  public void invalidation() {
    invalidations.increment();
  }

  /** Counts one invalidate callback refused (non-blockable, answered false). */
  public void refused() {
    refused.increment();
  }

  /**
   * Counts page references taken with GUP.
   *
   * @param pages how many pages were pinned, at least 0
   * @throws IllegalArgumentException if {@code pages} is negative
   */
  public void pinned(int pages) {
    pinned.add(requirePages(pages));
  }

  /**
   * Counts page references dropped.
   *
   * @param pages how many pages were unpinned, at least 0
   * @throws IllegalArgumentException if {@code pages} is negative
   */
  public void unpinned(int pages) {
    unpinned.add(requirePages(pages));
  }

  private static int requirePages(int pages) {
    if (pages < 0) {
      throw new IllegalArgumentException(pages + " pages: a page count cannot be negative");
    }
    return pages;
  }

  /**
   * Returns the counts so far; each is monotonic across snapshots.
   *
   * @return the snapshot
   */
  public DriverCounters snapshot() {
    // A refusal is counted after its invalidation and an unpin after its pin, so reading the later
    // count first keeps refused <= invalidations and unpinned <= pinned in every snapshot.
    long r = refused.sum();
    long u = unpinned.sum();
    return new DriverCounters(faults.sum(), retries.sum(), invalidations.sum(), r, pinned.sum(), u);
  }

  @Override
  public String toString() {
    return snapshot().toString();
  }
}
