package io.mmulab.driver.hfi1;

import org.jspecify.annotations.Nullable;

/** The chip's RcvArray as the expected-receive code programs it. */
interface Hfi1TidArray {
  /** How many TIDs there are. */
  int size();

  /** Programs {@code tid} with the page {@code va} and its pinned frame. */
  void program(int tid, long va, long pfn, @Nullable String subscription);

  /** Clears {@code tid} and waits for packets still landing through it; false if it was clear. */
  boolean clear(int tid);
}
