package io.mmulab.sim.hfi;

import io.mmulab.api.AddressSpace;
import java.util.Objects;

/**
 * One send descriptor on the SDMA ring: {@code words} words read from the pinned frame of a cache
 * node's page, for an operation begun when the driver took the node, and what to call when the
 * engine is done with the frame (the driver drops its node reference there).
 */
public final class SdmaDescriptor {
  private final long va;
  private final long pfn;
  private final long operation;
  private final long[] payload;
  private final Runnable completion;
  private volatile boolean done;

  /**
   * Describes a send.
   *
   * @param va the user address of the first word, 8-byte aligned
   * @param pfn the pinned frame of {@code va}'s page
   * @param operation the checker token of the send
   * @param words how many words, all within {@code va}'s page
   * @param completion run by the engine once the payload is read, exactly once
   * @throws IllegalArgumentException if the words leave the page or are fewer than one
   */
  public SdmaDescriptor(long va, long pfn, long operation, int words, Runnable completion) {
    long offset = va & (AddressSpace.PAGE_SIZE - 1);
    if ((va & 7) != 0 || words < 1 || offset + 8L * words > AddressSpace.PAGE_SIZE) {
      throw new IllegalArgumentException(
          words + " words at 0x" + Long.toHexString(va) + " do not fit one page");
    }
    this.va = va;
    this.pfn = pfn;
    this.operation = operation;
    this.payload = new long[words];
    this.completion = Objects.requireNonNull(completion, "completion is null");
  }

  /**
   * Tells whether the engine completed the descriptor.
   *
   * @return true once the payload was read and the completion ran
   */
  public boolean done() {
    return done;
  }

  /**
   * Returns the words the engine sent (all zero before {@link #done()}).
   *
   * @return a copy of the payload
   */
  public long[] payload() {
    return payload.clone();
  }

  long va() {
    return va;
  }

  long pfn() {
    return pfn;
  }

  long operation() {
    return operation;
  }

  void put(int k, long word) {
    payload[k] = word;
  }

  int words() {
    return payload.length;
  }

  void complete() {
    completion.run();
    done = true;
  }
}
