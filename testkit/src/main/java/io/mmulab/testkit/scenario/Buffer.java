package io.mmulab.testkit.scenario;

import io.mmulab.api.AddressSpace;
import io.mmulab.sim.mm.SimProcess;

/**
 * A private anonymous, readable and writable mapping a scenario made with {@link
 * ScenarioContext#mapBuffer}: {@code pages} pages from {@code start}, whose first word of page
 * {@code i} holds {@link #initial(int)} (so every page is present and exclusive to the process).
 *
 * @param process the process it lives in
 * @param start the first address, page-aligned
 * @param pages how many pages
 */
public record Buffer(SimProcess process, long start, int pages) {
  /** Bytes per page. */
  public static final long PAGE = AddressSpace.PAGE_SIZE;

  /**
   * Returns the address of page {@code i}.
   *
   * @param i a page index, in {@code [0, pages]} ({@code pages} gives the end)
   * @return the address
   */
  public long va(int i) {
    if (i < 0 || i > pages) {
      throw new IndexOutOfBoundsException("page " + i + " of a " + pages + "-page buffer");
    }
    return start + i * PAGE;
  }

  /**
   * Returns the byte length of {@code n} pages.
   *
   * @param n pages
   * @return bytes
   */
  public static long pages(int n) {
    return n * PAGE;
  }

  /**
   * Returns the length of the buffer.
   *
   * @return bytes
   */
  public long length() {
    return pages * PAGE;
  }

  /**
   * Returns the value the first word of page {@code i} holds after setup.
   *
   * @param i a page index
   * @return the value, never 0 and never the poison pattern
   */
  public static long initial(int i) {
    return 0x1000L + i;
  }
}
