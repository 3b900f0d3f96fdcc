package io.mmulab.driver.gntdev;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.sync.SpinLock;
import java.util.concurrent.atomic.AtomicLongArray;
import org.jspecify.annotations.Nullable;

/**
 * One grant map ({@code struct gntdev_grant_map}): {@code count} pages from {@code start} of one
 * address space, each with the grant it holds (its reference and the hypervisor's handle, or {@link
 * #INVALID_HANDLE} for a page with no grant mapped). Created and mapped by the mmap path with the
 * mmap lock held for write.
 *
 * <p>Handles are atomic because the 5.5 callback reads and clears them with no lock (see {@link
 * GntdevAsMerged}); the consolidated variant's page states ({@code handles}, {@code beingRemoved})
 * and {@code users} change only under {@link #lock}, a spin lock under which only the hypervisor's
 * grant-table lock is taken.
 */
final class GntdevGrantMap {
  /** No grant mapped in the page (kernel {@code INVALID_GRANT_HANDLE}). */
  static final long INVALID_HANDLE = -1;

  final String name;
  final SpinLock lock;
  final AddressSpace mm;
  final long start;
  final int count;
  final AtomicLongArray handles;

  /** The grant references; written by the mmap path, read when the page's grant is unmapped. */
  final int[] refs;

  /** Consolidated: pages whose asynchronous unmap is queued. Guarded by lock. */
  final boolean[] beingRemoved;

  /** Consolidated: the VMA's reference plus one per queued unmap. Guarded by lock. */
  int users = 1;

  /** AS_MERGED and CONSOLIDATED: the map's interval notifier, null once removed. */
  @Nullable MmuIntervalNotifier notifier;

  /** Whether a VMA maps the map ({@code map->vma != NULL}); cleared by the VMA's close. */
  volatile boolean vma = true;

  GntdevGrantMap(String name, SpinLock lock, AddressSpace mm, long start, int count) {
    this.name = name;
    this.lock = lock;
    this.mm = mm;
    this.start = start;
    this.count = count;
    this.handles = new AtomicLongArray(count);
    this.refs = new int[count];
    this.beingRemoved = new boolean[count];
    for (int i = 0; i < count; i++) {
      handles.set(i, INVALID_HANDLE);
    }
  }

  long end() {
    return start + count * AddressSpace.PAGE_SIZE;
  }

  boolean covers(AddressSpace as, long va) {
    return as == mm && Long.compareUnsigned(va, start) >= 0 && Long.compareUnsigned(va, end()) < 0;
  }

  int index(long va) {
    return (int) ((va - start) / AddressSpace.PAGE_SIZE);
  }

  long va(int index) {
    return start + index * AddressSpace.PAGE_SIZE;
  }

  /** The first page of the map in {@code [rangeStart, ...)}, clipped to the map. */
  int firstIndex(long rangeStart) {
    return Long.compareUnsigned(rangeStart, start) <= 0 ? 0 : index(rangeStart);
  }

  /** One past the last page of the map before {@code rangeEnd} (exclusive, unsigned). */
  int endIndex(long rangeEnd) {
    if (Long.compareUnsigned(rangeEnd, end()) >= 0) {
      return count;
    }
    return (int) ((rangeEnd - start + AddressSpace.PAGE_SIZE - 1) / AddressSpace.PAGE_SIZE);
  }

  /** Whether the map's pages intersect {@code [rangeStart, rangeEnd)}. */
  boolean overlaps(long rangeStart, long rangeEnd) {
    return Long.compareUnsigned(rangeStart, end()) < 0 && Long.compareUnsigned(rangeEnd, start) > 0;
  }

  @Override
  public String toString() {
    return name;
  }
}
