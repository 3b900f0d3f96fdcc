package io.mmulab.sim.hfi;

import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The HFI's receive array: one entry per TID, each the page a user buffer pinned and the frame
 * behind it. The driver programs and clears entries; {@link PacketArrival} reads them to place an
 * arriving packet's payload.
 *
 * <p>Locking: {@code flush}, a spin lock, guards the entries and is held by a packet's whole DMA,
 * so a {@link #clear} (the driver's entry write followed by a flushing read) returns only once no
 * packet is still writing through the old entry, as the chip's flush does.
 */
public final class RcvArray {
  /** One programmed entry. */
  record Entry(long va, long pfn) {}

  private final CoherencyChecker checker;
  private final String deviceId;
  private final String mm;
  private final SpinLock flush;
  private final Entry[] entries; // guarded by flush

  /**
   * Creates an empty array.
   *
   * @param runtime where the lock comes from
   * @param checker the checker every entry change is reported to
   * @param deviceId the checker's name of the receive side
   * @param mm the address space the TIDs map
   * @param size how many TIDs, at least 1
   * @throws IllegalArgumentException if {@code size} is below 1
   */
  public RcvArray(
      SyncRuntime runtime, CoherencyChecker checker, String deviceId, String mm, int size) {
    if (size < 1) {
      throw new IllegalArgumentException("RcvArray size " + size + " is below 1");
    }
    this.checker = Objects.requireNonNull(checker, "checker is null");
    this.deviceId = Objects.requireNonNull(deviceId, "deviceId is null");
    this.mm = Objects.requireNonNull(mm, "mm is null");
    this.flush = runtime.newSpinLock(deviceId + ".rcvarray");
    this.entries = new Entry[size];
  }

  /**
   * Returns how many TIDs the array has.
   *
   * @return the size
   */
  public int size() {
    return entries.length;
  }

  /**
   * Returns the checker's name of the receive side.
   *
   * @return the device id
   */
  public String deviceId() {
    return deviceId;
  }

  /**
   * Programs TID {@code tid} with the page at {@code va} and its pinned frame.
   *
   * @param tid the TID
   * @param va the page's user address
   * @param pfn the pinned frame
   * @param subscription the notifier whose callback protects the entry, or null for any of the
   *     device's
   * @throws IllegalArgumentException if {@code tid} is out of range or already programmed
   */
  public void program(int tid, long va, long pfn, @Nullable String subscription) {
    checkTid(tid);
    flush.lock();
    try {
      if (entries[tid] != null) {
        throw new IllegalArgumentException("TID " + tid + " is programmed already");
      }
      entries[tid] = new Entry(va, pfn);
      checker.deviceMapped(deviceId, subscription, mm, va, pfn, true);
    } finally {
      flush.unlock();
    }
  }

  /**
   * Clears TID {@code tid}, waiting for a packet still writing through it; a cleared entry is left
   * alone.
   *
   * @param tid the TID
   * @return whether the entry was programmed
   * @throws IllegalArgumentException if {@code tid} is out of range
   */
  public boolean clear(int tid) {
    checkTid(tid);
    flush.lock();
    try {
      Entry e = entries[tid];
      if (e == null) {
        return false;
      }
      entries[tid] = null;
      checker.deviceUnmapped(deviceId, mm, e.va());
      return true;
    } finally {
      flush.unlock();
    }
  }

  /**
   * Tells whether TID {@code tid} is programmed.
   *
   * @param tid the TID
   * @return true if it is
   * @throws IllegalArgumentException if {@code tid} is out of range
   */
  public boolean programmed(int tid) {
    checkTid(tid);
    flush.lock();
    try {
      return entries[tid] != null;
    } finally {
      flush.unlock();
    }
  }

  SpinLock flushLock() {
    return flush;
  }

  /** The entry of {@code tid}, or null; flush lock held. */
  Entry entryLocked(int tid) {
    checkTid(tid);
    return entries[tid];
  }

  String mm() {
    return mm;
  }

  CoherencyChecker checker() {
    return checker;
  }

  private void checkTid(int tid) {
    if (tid < 0 || tid >= entries.length) {
      throw new IllegalArgumentException(
          "TID " + tid + " is outside the RcvArray [0, " + entries.length + ")");
    }
  }
}
