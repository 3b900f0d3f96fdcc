package io.mmulab.testkit.dmirror;

import io.mmulab.api.sync.Lockable;
import io.mmulab.sim.check.CoherencyChecker;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * A mirror's device page table (kernel: the {@code pt} XArray): virtual page number to the frame
 * holding the data, with a 2-bit tag. Like the kernel's, it holds no page references: only the
 * notifier erasing entries keeps it from pointing at stale frames.
 *
 * <p>Every method must be called with the mirror's update lock held (checked). Each store and erase
 * is reported to the coherency checker inside that section, as the timing contract asks.
 */
final class DmirrorPageTable {
  /** The tag stored with an entry (kernel {@code DPT_XA_TAG_*}). */
  enum Tag {
    /** No tag: readable by the device. */
    READ,
    /** Tag 1: installed by EXCLUSIVE. */
    ATOMIC,
    /** Tag 3: readable and writable by the device. */
    WRITE
  }

  /** One entry: the frame and its tag. */
  record Entry(long pfn, Tag tag) {}

  private final TreeMap<Long, Entry> entries = new TreeMap<>();
  private final Lockable updateLock;
  private final CoherencyChecker checker;
  private final String deviceId;
  private final String mm;

  DmirrorPageTable(Lockable updateLock, CoherencyChecker checker, String deviceId, String mm) {
    this.updateLock = updateLock;
    this.checker = checker;
    this.deviceId = deviceId;
    this.mm = mm;
  }

  /** Kernel {@code xa_load}. */
  @Nullable Entry load(long va) {
    requireLock();
    return entries.get(va >>> DmirrorMirror.PAGE_SHIFT);
  }

  /** Kernel {@code xa_store}, reported as the device mapping {@code va -> pfn}. */
  void store(long va, long pfn, Tag tag) {
    requireLock();
    entries.put(va >>> DmirrorMirror.PAGE_SHIFT, new Entry(pfn, tag));
    checker.deviceMapped(deviceId, mm, va & -DmirrorMirror.PAGE_SIZE, pfn, tag == Tag.WRITE);
  }

  /** Kernel {@code xa_erase} of one page. */
  void erase(long va) {
    requireLock();
    if (entries.remove(va >>> DmirrorMirror.PAGE_SHIFT) != null) {
      checker.deviceUnmapped(deviceId, mm, va);
    }
  }

  /**
   * Kernel {@code dmirror_do_update}: erases every entry from page {@code start >> PAGE_SHIFT} to
   * page {@code end >> PAGE_SHIFT} <em>inclusive</em> (one page past the exclusive end, as the
   * kernel does; unsigned, so {@code end} may be {@code ULONG_MAX}).
   *
   * @return the number of entries erased
   */
  int eraseRange(long start, long end) {
    requireLock();
    long first = start >>> DmirrorMirror.PAGE_SHIFT;
    long last = end >>> DmirrorMirror.PAGE_SHIFT;
    Map<Long, Entry> sub = entries.subMap(first, true, last, true);
    List<Long> erased = new ArrayList<>(sub.keySet());
    sub.clear();
    for (long vpn : erased) {
      checker.deviceUnmapped(deviceId, mm, vpn << DmirrorMirror.PAGE_SHIFT);
    }
    return erased.size();
  }

  /** Kernel {@code xa_destroy}. */
  void destroy() {
    eraseRange(0, -1L);
  }

  /** Whether any entry of {@code [start, end)} has the atomic tag. */
  boolean anyAtomic(long start, long end) {
    requireLock();
    for (Entry e :
        entries
            .subMap(
                start >>> DmirrorMirror.PAGE_SHIFT,
                true,
                (end - 1) >>> DmirrorMirror.PAGE_SHIFT,
                true)
            .values()) {
      if (e.tag() == Tag.ATOMIC) {
        return true;
      }
    }
    return false;
  }

  int size() {
    requireLock();
    return entries.size();
  }

  private void requireLock() {
    if (!updateLock.isHeldByCurrentThread()) {
      throw new IllegalStateException(
          "device page table of " + deviceId + " used without " + updateLock.name());
    }
  }
}
