package io.mmulab.sim.mm;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.ArrayDeque;
import org.jspecify.annotations.Nullable;

/**
 * The machine's hugetlb pool (kernel {@code hstate}s of 2 MiB and 1 GiB): pages of physically
 * contiguous, aligned frames allocated when the pool grows and kept for the machine's lifetime. The
 * pool holds one reference on every frame, so a page whose mappings are gone returns here instead
 * of to physical memory; each mapping holds one more reference per frame. Pages are reserved at
 * mmap (a mapping that could not fault its pages in fails then, with {@code ENOMEM}) and zeroed
 * when taken. A 1 GiB page is 262,144 real frames, so a machine backing one needs a frame budget of
 * at least twice that (the run is aligned to its size).
 *
 * <p>Locking: {@code machine.hugetlb}, a spin lock, guards the counts, the free lists and every
 * mapping's {@link Vma.AnonVma#hugetlbReserved}; nothing else is taken under it.
 */
final class HugetlbPool {
  static final int PMD_ORDER = PageTable.HPAGE_ORDER;
  static final int PUD_ORDER = 30 - SimMm.PAGE_SHIFT;

  private final PhysicalMemory memory;
  private final SpinLock lock;
  private final Hstate pmd = new Hstate();
  private final Hstate pud = new Hstate();

  HugetlbPool(SyncRuntime runtime, PhysicalMemory memory) {
    this.memory = memory;
    this.lock = runtime.newSpinLock("machine.hugetlb");
  }

  /** The pages of one size: free heads, the total and how many free pages are reserved. */
  private static final class Hstate {
    final ArrayDeque<Long> free = new ArrayDeque<>();
    int total;
    int reserved;
  }

  private Hstate hstate(int order) {
    return switch (order) {
      case PMD_ORDER -> pmd;
      case PUD_ORDER -> pud;
      default -> throw new IllegalArgumentException("no hugetlb pages of order " + order);
    };
  }

  /** Grows the pool of {@code order} to {@code pages} pages (kernel {@code nr_hugepages}). */
  void grow(int order, int pages) throws ErrnoException {
    Hstate h = hstate(order);
    int have;
    lock.lock();
    try {
      have = h.total;
    } finally {
      lock.unlock();
    }
    if (pages < have) {
      throw new IllegalArgumentException(
          "the hugetlb pool of order "
              + order
              + " has "
              + have
              + " pages; cannot shrink to "
              + pages);
    }
    for (int i = have; i < pages; i++) {
      long head = memory.allocContiguous("hugetlb pool order " + order, order);
      lock.lock();
      try {
        h.free.push(head);
        h.total++;
      } finally {
        lock.unlock();
      }
    }
  }

  int total(int order) {
    Hstate h = hstate(order);
    lock.lock();
    try {
      return h.total;
    } finally {
      lock.unlock();
    }
  }

  int free(int order) {
    Hstate h = hstate(order);
    lock.lock();
    try {
      return h.free.size();
    } finally {
      lock.unlock();
    }
  }

  int reserved(int order) {
    Hstate h = hstate(order);
    lock.lock();
    try {
      return h.reserved;
    } finally {
      lock.unlock();
    }
  }

  /** Reserves {@code pages} free pages for a new mapping (kernel {@code hugetlb_reserve_pages}). */
  void reserve(int order, int pages, Vma.AnonVma owner) throws ErrnoException {
    Hstate h = hstate(order);
    lock.lock();
    try {
      if (h.free.size() - h.reserved < pages) {
        throw new ErrnoException(
            Errno.ENOMEM,
            "the hugetlb pool of order "
                + order
                + " has "
                + (h.free.size() - h.reserved)
                + " unreserved free pages; "
                + pages
                + " needed");
      }
      h.reserved += pages;
      owner.hugetlbReserved += pages;
    } finally {
      lock.unlock();
    }
  }

  /** Gives back up to {@code pages} of a mapping's reservations that will never be used. */
  void unreserve(int order, int pages, Vma.AnonVma owner) {
    Hstate h = hstate(order);
    lock.lock();
    try {
      int n = Math.min(pages, owner.hugetlbReserved);
      owner.hugetlbReserved -= n;
      h.reserved -= n;
    } finally {
      lock.unlock();
    }
  }

  /** A page taken from the pool: its first frame, and whether a reservation paid for it. */
  record Page(long head, boolean reserved) {}

  /**
   * Takes a free page, zeroed: for a fault of {@code owner}'s mapping ({@code useReservation}) one
   * of its reservations pays if it has one left; otherwise (and for a copy-on-write copy) only an
   * unreserved free page will do.
   *
   * @return the page, or null if no page is free for it
   */
  @Nullable Page alloc(int order, Vma.AnonVma owner, boolean useReservation) {
    Hstate h = hstate(order);
    boolean reserved = false;
    long head;
    lock.lock();
    try {
      if (useReservation && owner.hugetlbReserved > 0) {
        owner.hugetlbReserved--;
        h.reserved--;
        reserved = true;
      } else if (h.free.size() - h.reserved <= 0) {
        return null;
      }
      head = h.free.pop();
    } finally {
      lock.unlock();
    }
    for (long i = 0; i < 1L << order; i++) {
      memory.clear(head + i);
    }
    return new Page(head, reserved);
  }

  /** Puts back a page {@link #alloc} gave that was never mapped, with its reservation. */
  void cancel(int order, Page page, Vma.AnonVma owner) {
    Hstate h = hstate(order);
    lock.lock();
    try {
      h.free.push(page.head());
      if (page.reserved()) {
        owner.hugetlbReserved++;
        h.reserved++;
      }
    } finally {
      lock.unlock();
    }
  }

  /** Returns a page to the free list once no mapping, GUP reference or pin holds it any more. */
  void releaseIfUnused(int order, long head) {
    for (long i = 0; i < 1L << order; i++) {
      if (memory.refcount(head + i) != 1) {
        return;
      }
    }
    Hstate h = hstate(order);
    lock.lock();
    try {
      if (!h.free.contains(head)) {
        h.free.push(head);
      }
    } finally {
      lock.unlock();
    }
  }
}
