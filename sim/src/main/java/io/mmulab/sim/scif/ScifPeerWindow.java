package io.mmulab.sim.scif;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The peer's registered window: memory on the other side of the link (card memory for the host),
 * which the host's physical memory and the coherency checker know nothing of. Copies move words
 * between it and the pinned pages of a temporary window. Word-addressed; any thread may read or
 * write any word at any time (the engine thread and the driver's verbs do), each word atomically.
 */
public final class ScifPeerWindow {
  private final AtomicLongArray words;

  /**
   * A zeroed window.
   *
   * @param capacity its size in 64-bit words, at least 1
   * @throws IllegalArgumentException if {@code capacity} is below 1
   */
  public ScifPeerWindow(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("peer window of " + capacity + " words");
    }
    this.words = new AtomicLongArray(capacity);
  }

  /**
   * Returns the window's size.
   *
   * @return the capacity in words
   */
  public int capacity() {
    return words.length();
  }

  /**
   * Reads one word.
   *
   * @param offset a word offset below {@link #capacity()}
   * @return the word
   * @throws IndexOutOfBoundsException if the offset is outside the window
   */
  public long read(long offset) {
    return words.get(index(offset));
  }

  /**
   * Writes one word.
   *
   * @param offset a word offset below {@link #capacity()}
   * @param value the word
   * @throws IndexOutOfBoundsException if the offset is outside the window
   */
  public void write(long offset, long value) {
    words.set(index(offset), value);
  }

  private int index(long offset) {
    if (offset < 0 || offset >= words.length()) {
      throw new IndexOutOfBoundsException(
          "peer offset " + offset + " outside a window of " + words.length() + " words");
    }
    return (int) offset;
  }
}
