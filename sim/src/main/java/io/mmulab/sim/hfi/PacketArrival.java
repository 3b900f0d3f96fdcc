package io.mmulab.sim.hfi;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.Objects;

/**
 * The HFI's receive engine: an expected-receive packet names a TID and an offset in its page, and
 * the engine DMAs the payload into the frame the {@link RcvArray} entry holds. A packet for a
 * cleared TID is dropped (the chip raises a TID error the sender's retry takes care of).
 *
 * <p>Each packet is one checker operation, begun when the engine reads the entry: an entry the
 * driver invalidated before that may not be used, one invalidated while the payload is in flight
 * may.
 */
public final class PacketArrival {
  private final SyncRuntime runtime;
  private final PhysicalMemory memory;
  private final RcvArray array;

  /**
   * Creates the engine of {@code array}.
   *
   * @param runtime where the scheduling points come from
   * @param memory the memory the payloads land in
   * @param array the entries packets name
   */
  public PacketArrival(SyncRuntime runtime, PhysicalMemory memory, RcvArray array) {
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.memory = Objects.requireNonNull(memory, "memory is null");
    this.array = Objects.requireNonNull(array, "array is null");
  }

  /**
   * Delivers one packet: {@code payload} to TID {@code tid} from byte {@code offset} of its page.
   *
   * @param tid the TID the packet names
   * @param offset byte offset in the TID's page, 8-byte aligned
   * @param payload the words, all within the page
   * @return false if the TID was not programmed (the packet is dropped), true once it landed
   * @throws IllegalArgumentException if the TID is out of range or the payload leaves the page
   */
  public boolean deliver(int tid, int offset, long[] payload) {
    if ((offset & 7) != 0
        || offset < 0
        || offset + 8L * payload.length > AddressSpace.PAGE_SIZE
        || payload.length == 0) {
      throw new IllegalArgumentException(
          payload.length + " words at offset " + offset + " do not fit one TID's page");
    }
    array.flushLock().lock();
    try {
      RcvArray.Entry e = array.entryLocked(tid);
      if (e == null) {
        return false;
      }
      long op = array.checker().beginOperation(array.deviceId());
      runtime.yieldPoint(array.deviceId() + " packet for TID " + tid + ", before its DMA");
      for (int k = 0; k < payload.length; k++) {
        memory.deviceWriteLong(
            array.deviceId(), op, array.mm(), e.va() + offset + 8L * k, e.pfn(), payload[k]);
      }
      return true;
    } finally {
      array.flushLock().unlock();
    }
  }
}
