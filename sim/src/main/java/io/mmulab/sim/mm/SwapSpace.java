package io.mmulab.sim.mm;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Swap space with its swap cache. A slot is created when reclaim unmaps an anonymous page: the page
 * stays in the swap cache (the slot holds the mapping's former reference) until it is written out,
 * which happens only once nobody else references it. A fault maps the cached page again or reads
 * the contents into a new frame.
 *
 * <p>Locking: slots are guarded by the machine's page lock (a spin lock, taken under page-table
 * locks). Frame contents are copied with one {@link PhysicalMemory} call each.
 */
final class SwapSpace {
  private final PhysicalMemory memory;
  private final SpinLock lock;
  private final Map<Long, Slot> slots = new HashMap<>();
  private long nextId = 1;

  SwapSpace(PhysicalMemory memory, SpinLock lock) {
    this.memory = memory;
    this.lock = lock;
  }

  /** One swap slot; every field guarded by the page lock. */
  static final class Slot {
    final long id;
    int count = 1;
    long pfn;
    byte @Nullable [] data;

    Slot(long id, long pfn) {
      this.id = id;
      this.pfn = pfn;
    }

    @Override
    public String toString() {
      return "swap#" + id;
    }
  }

  /** Puts a just-unmapped page into the swap cache; the slot takes over the caller's reference. */
  Slot add(long pfn) {
    lock.lock();
    try {
      Slot s = new Slot(nextId++, pfn);
      slots.put(s.id, s);
      return s;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Writes the cached page out and frees it if only the swap cache still references it.
   *
   * @return true if the frame was freed
   */
  boolean writeback(Slot s) {
    long pfn;
    lock.lock();
    try {
      if (s.pfn == CoherencyChecker.NO_PFN || s.count == 0 || memory.refcount(s.pfn) != 1) {
        return false;
      }
      byte[] data = new byte[PhysicalMemory.PAGE_SIZE];
      memory.readBytes(s.pfn, 0, data, 0, data.length);
      s.data = data;
      pfn = s.pfn;
      s.pfn = CoherencyChecker.NO_PFN;
    } finally {
      lock.unlock();
    }
    memory.put(pfn);
    return true;
  }

  /**
   * Returns the page of {@code s} with one new reference for the caller, reading it into a new
   * frame (which joins the swap cache) if it was written out.
   */
  long swapIn(Slot s, String owner) throws ErrnoException {
    lock.lock();
    try {
      if (s.pfn != CoherencyChecker.NO_PFN) {
        memory.get(s.pfn);
        return s.pfn;
      }
    } finally {
      lock.unlock();
    }
    long fresh = memory.alloc(owner);
    lock.lock();
    try {
      if (s.pfn == CoherencyChecker.NO_PFN) {
        if (s.data != null) {
          memory.writeBytes(fresh, 0, s.data, 0, s.data.length);
        }
        s.pfn = fresh;
        memory.get(fresh);
        return fresh;
      }
      memory.get(s.pfn);
      long cached = s.pfn;
      memory.put(fresh);
      return cached;
    } finally {
      lock.unlock();
    }
  }

  /** Another entry refers to the slot (fork). */
  void duplicate(Slot s) {
    lock.lock();
    try {
      s.count++;
    } finally {
      lock.unlock();
    }
  }

  /** An entry referring to the slot went away; the last one frees the slot and its cached page. */
  void free(Slot s) {
    long pfn = CoherencyChecker.NO_PFN;
    lock.lock();
    try {
      if (--s.count == 0) {
        slots.remove(s.id);
        pfn = s.pfn;
        s.pfn = CoherencyChecker.NO_PFN;
        s.data = null;
      }
    } finally {
      lock.unlock();
    }
    if (pfn != CoherencyChecker.NO_PFN) {
      memory.put(pfn);
    }
  }

  /** Slots in use. */
  int usedSlots() {
    lock.lock();
    try {
      return slots.size();
    } finally {
      lock.unlock();
    }
  }
}
