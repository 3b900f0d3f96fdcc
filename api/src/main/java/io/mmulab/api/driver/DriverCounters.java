package io.mmulab.api.driver;

/**
 * What a driver counted since its adapter was created, as {@link DriverAdapter#counters()} reports
 * it. Every count is the driver's own: it is incremented at the point in the driver's code where
 * the event happens, not inferred from outside.
 *
 * @param faults device faults handled: runs of the driver's fault or populate path (a replayable
 *     GPU fault, a prefetch, a command submission's validation) that reached the device page table
 *     or the binding. One run counts once however many pages it maps and however many times it
 *     retried; a run that failed or found nothing to do does not count. A consolidated variant
 *     counts a run whose {@code readRetry} (or {@code checkRetry}) said "valid" and that programmed
 *     the device; a legacy variant counts a run that passed its own check (a valid flag, an
 *     unchanged sequence, or none at all) and programmed the device
 * @param retries collisions the driver's retry check saw: each time it said "again" and the run
 *     started over, whether {@code readRetry}/{@code checkRetry} returned true, a page walk failed
 *     with {@code EBUSY} because an invalidation was running, or a legacy driver found its range
 *     invalid ("start over") or its pages put meanwhile ({@code -EAGAIN})
 * @param invalidations invalidate callbacks the driver received: interval notifier {@code
 *     invalidate} calls (including the one exit's release delivers) and classic {@code
 *     invalidate_range_start} and {@code release} calls, one per call and per subscription that was
 *     called, whether or not the driver had anything to drop
 * @param refused how many of {@link #invalidations} the driver refused: a non-blockable range it
 *     answered with false ({@code -EAGAIN}) because it would have had to sleep
 * @param pinned page references the driver took with GUP ({@code get_user_pages} or {@code
 *     pin_user_pages}), one per page
 * @param unpinned page references the driver dropped ({@code put_page} or {@code unpin_user_page}),
 *     one per page; never more than {@link #pinned}
 */
public record DriverCounters(
    long faults, long retries, long invalidations, long refused, long pinned, long unpinned) {
  /** Nothing counted. */
  public static final DriverCounters ZERO = new DriverCounters(0, 0, 0, 0, 0, 0);

  /**
   * Checks that every count is non-negative.
   *
   * @throws IllegalArgumentException naming the first negative count
   */
  public DriverCounters {
    check("faults", faults);
    check("retries", retries);
    check("invalidations", invalidations);
    check("refused", refused);
    check("pinned", pinned);
    check("unpinned", unpinned);
  }

  private static void check(String name, long value) {
    if (value < 0) {
      throw new IllegalArgumentException(name + " is " + value + ", a count cannot be negative");
    }
  }

  /**
   * Returns what was counted between {@code earlier} and this snapshot of the same adapter.
   *
   * @param earlier an earlier snapshot of the same adapter
   * @return the differences, count by count
   * @throws IllegalArgumentException if a count of {@code earlier} is larger than this one's (the
   *     snapshots are not of one adapter, or not in this order)
   */
  public DriverCounters minus(DriverCounters earlier) {
    return new DriverCounters(
        faults - earlier.faults,
        retries - earlier.retries,
        invalidations - earlier.invalidations,
        refused - earlier.refused,
        pinned - earlier.pinned,
        unpinned - earlier.unpinned);
  }
}
