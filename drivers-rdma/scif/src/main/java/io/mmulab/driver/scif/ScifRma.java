package io.mmulab.driver.scif;

import io.mmulab.api.ErrnoException;
import org.jspecify.annotations.Nullable;

/**
 * The card and memory that the window cache drives: pinning, the DMA mapping of windows, copies on
 * the DMA channel, the cleanup worker, and the reports the coherency checker needs. Production:
 * {@link ScifSimRma} on the simulated card; the Lincheck test puts a one-page fake behind it.
 */
interface ScifRma {
  /**
   * Pins {@code pages} pages from {@code va} long-term (GUP {@code FOLL_PIN}) under the mmap lock,
   * all or none.
   */
  long[] pin(long va, int pages, boolean write) throws ErrnoException;

  /** Unpins frames that {@link #pin} returned and no window maps. */
  void unpin(long[] pfns);

  /** DMA-maps the window's pinned frames ({@code scif_map_window}); never sleeps. */
  void map(ScifWindow w);

  /** Unmaps and unpins the window ({@code scif_destroy_window}); the channel must be drained. */
  void destroy(ScifWindow w);

  /** Begins a copy for the checker: from now on an invalidation of its window lets it finish. */
  long beginOperation();

  /** Queues the descriptors of a copy; the interrupt runs when the last one completed. */
  void program(
      ScifWindow w,
      long operation,
      long va,
      int words,
      long peerOffset,
      boolean toPeer,
      @Nullable Runnable interrupt);

  /** Waits until every descriptor queued so far completed ({@code scif_drain_dma_intr}). */
  void drain();

  /** Wakes the cleanup worker ({@code schedule_work}). */
  void scheduleCleanup();

  /** Reports a subscription inserted over {@code [start, end)}. */
  void subscribed(String subscription, long start, long end);

  /** Reports a subscription removed: no callback of it runs any more. */
  void unsubscribed(String subscription);

  /** Reports an invalidate callback entered. */
  void callbackEntered(String subscription, long start, long end);

  /** Reports an invalidate callback returning, after it unlinked what it hit. */
  void callbackReturned(String subscription, long start, long end, long seq);
}
