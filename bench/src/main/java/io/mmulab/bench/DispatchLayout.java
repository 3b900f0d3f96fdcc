package io.mmulab.bench;

import java.util.SplittableRandom;

/**
 * The address-space layout shared by every dispatch shape: {@code n} subscriptions spread over
 * {@code drivers} drivers and a fixed sequence of small invalidations, all drawn from one seed so
 * that every shape sees the same ranges and the same invalidations.
 *
 * <p>Subscription {@code i} lies in its own 64 KiB slot starting at {@link #BASE} {@code + i * 64
 * KiB}: it starts 0 to 7 pages into the slot and is 1 to 8 pages long, so subscriptions never
 * overlap and span {@code n * 64 KiB} of address space (64 GiB at {@code n = 10^6}). Its driver is
 * drawn uniformly. An invalidation starts on a uniformly drawn page of that span and is 1 to 16
 * pages long, so it hits zero, one or two subscriptions.
 */
public final class DispatchLayout {
  /** Page size. */
  public static final long PAGE = 4096;

  /** Address space per subscription. */
  public static final long SLOT = 16 * PAGE;

  /** Address of the first slot. */
  public static final long BASE = 0x7f00_0000_0000L;

  /** Number of distinct invalidations; a power of two, cycled through. */
  public static final int INVALIDATIONS = 1 << 12;

  /** Default seed of the layout. */
  public static final long DEFAULT_SEED = 20191112L;

  final int n;
  final int drivers;
  final long[] start;
  final long[] length;
  final int[] driver;
  final long[] invStart;
  final long[] invEnd;

  private DispatchLayout(int n, int drivers, long seed) {
    if (n < 0 || drivers < 1) {
      throw new IllegalArgumentException("n=" + n + " drivers=" + drivers);
    }
    this.n = n;
    this.drivers = drivers;
    SplittableRandom rng = new SplittableRandom(seed);
    start = new long[n];
    length = new long[n];
    driver = new int[n];
    for (int i = 0; i < n; i++) {
      int offsetPages = rng.nextInt(8);
      int pages = 1 + rng.nextInt(8);
      start[i] = BASE + i * SLOT + offsetPages * PAGE;
      length[i] = pages * PAGE;
      driver[i] = rng.nextInt(drivers);
    }
    invStart = new long[INVALIDATIONS];
    invEnd = new long[INVALIDATIONS];
    long spanPages = Math.max(1, n * (SLOT / PAGE));
    for (int k = 0; k < INVALIDATIONS; k++) {
      invStart[k] = BASE + rng.nextLong(spanPages) * PAGE;
      invEnd[k] = invStart[k] + (1 + rng.nextInt(16)) * PAGE;
    }
  }

  /**
   * Draws a layout.
   *
   * @param n number of subscriptions
   * @param drivers number of drivers owning them
   * @param seed the seed; equal seeds give equal layouts
   * @return the layout
   */
  public static DispatchLayout create(int n, int drivers, long seed) {
    return new DispatchLayout(n, drivers, seed);
  }

  /** Returns the number of subscriptions. */
  public int size() {
    return n;
  }

  /** Returns the number of drivers. */
  public int drivers() {
    return drivers;
  }

  /**
   * Counts the subscriptions invalidation {@code k} intersects, by scanning: the reference for
   * tests.
   */
  public int expectedHits(int k) {
    int hits = 0;
    long last = invEnd[k] - 1;
    for (int i = 0; i < n; i++) {
      if (start[i] <= last && invStart[k] <= start[i] + length[i] - 1) {
        hits++;
      }
    }
    return hits;
  }
}
