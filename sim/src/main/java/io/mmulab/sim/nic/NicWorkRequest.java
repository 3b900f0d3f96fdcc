package io.mmulab.sim.nic;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A work request the NIC executes against a memory region: an RDMA READ (the NIC reads {@code
 * words} words of the region at {@code va}, as the target of a remote read) or an RDMA WRITE (it
 * writes {@code data} there).
 *
 * @param opcode what the NIC does
 * @param mr the region named by the request's key
 * @param va the first address, 8-byte aligned
 * @param words how many words, at least 1
 * @param data the words to write; null for a read
 */
public record NicWorkRequest(
    Opcode opcode, NicMemoryRegion mr, long va, int words, long @Nullable [] data) {
  /** The operations the simulated NIC executes. */
  public enum Opcode {
    /** The NIC reads the region. */
    RDMA_READ,
    /** The NIC writes the region. */
    RDMA_WRITE
  }

  /** Checks the request's shape. */
  public NicWorkRequest {
    Objects.requireNonNull(opcode, "opcode is null");
    Objects.requireNonNull(mr, "mr is null");
    if ((va & 7) != 0 || words < 1) {
      throw new IllegalArgumentException(
          words + " words at 0x" + Long.toHexString(va) + ": need an aligned address, 1 word+");
    }
    if ((opcode == Opcode.RDMA_WRITE) != (data != null) || (data != null && data.length != words)) {
      throw new IllegalArgumentException(opcode + " of " + words + " words with wrong data");
    }
    data = data == null ? null : data.clone();
  }

  /**
   * An RDMA READ of {@code words} words at {@code va}.
   *
   * @param mr the region
   * @param va the first address
   * @param words how many words
   * @return the request
   */
  public static NicWorkRequest rdmaRead(NicMemoryRegion mr, long va, int words) {
    return new NicWorkRequest(Opcode.RDMA_READ, mr, va, words, null);
  }

  /**
   * An RDMA WRITE of {@code data} at {@code va}.
   *
   * @param mr the region
   * @param va the first address
   * @param data the words
   * @return the request
   */
  public static NicWorkRequest rdmaWrite(NicMemoryRegion mr, long va, long[] data) {
    return new NicWorkRequest(
        Opcode.RDMA_WRITE, mr, va, Objects.requireNonNull(data, "data is null").length, data);
  }

  /**
   * Returns the number of bytes the request touches.
   *
   * @return {@code words * 8}
   */
  public long bytes() {
    return (long) words * Long.BYTES;
  }
}
