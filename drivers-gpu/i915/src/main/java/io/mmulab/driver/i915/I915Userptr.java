package io.mmulab.driver.i915;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.gpu.GpuJob;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The part of the userptr code that differs between the two variants: how an execbuf gets the
 * objects' pages and commits the job ({@code i915_gem_do_execbuffer} with {@code get_pages}), how
 * invalidations reach the objects, and teardown. {@link I915LegacyUserptr} and {@link
 * I915ConsolidatedUserptr} are meant to be read side by side.
 */
abstract class I915Userptr {
  /** How many times an execbuf restarts on {@code -EAGAIN} before giving it to the caller. */
  static final int MAX_RESTARTS = 64;

  /** The GPU, page allocator and checker behind the protocol (see {@link I915Hardware}). */
  final I915Hardware hw;

  final SyncRuntime rt;
  final AddressSpace mm;

  /** The device-wide lock of the legacy driver; in v5.13 it plays the object (ww) locks. */
  final Mutex structMutex;

  /** Userptr objects by page address; guarded by {@link #structMutex}. */
  final TreeMap<Long, I915Object> objects = new TreeMap<>();

  /**
   * What this context counted: a fault per execbuf that bound pages it pinned, a retry per execbuf
   * restart on a collision, an invalidation per notifier callback, a pin per page pinned and an
   * unpin per page let go.
   */
  final DriverStats stats = new DriverStats();

  /** Set under {@link #structMutex} by teardown. */
  boolean closed;

  I915Userptr(SyncRuntime rt, AddressSpace mm, I915Hardware hw) {
    this.rt = rt;
    this.mm = mm;
    this.hw = hw;
    this.structMutex = rt.newMutex(hw.name() + ".struct_mutex");
  }

  abstract DriverVariant variant();

  /**
   * Makes the objects covering {@code [start, end)} resident and bound, then submits {@code job}
   * (if not null) with their fences installed.
   *
   * @return the job's fence, or null if {@code job} is null
   * @throws ErrnoException {@code EFAULT} if the range is not mapped, {@code EAGAIN} if
   *     invalidations kept colliding, {@code EINVAL} after teardown
   */
  abstract @Nullable DmaFence execbuf(long start, long end, boolean write, @Nullable GpuJob job)
      throws ErrnoException;

  /** Removes the notifier(s), waits for the jobs, unbinds and unpins everything. Idempotent. */
  abstract void teardown();

  /**
   * Called under {@code struct_mutex} for an object just created (the userptr ioctl).
   *
   * @throws ErrnoException as the notifier insertion fails
   */
  void objectCreated(I915Object o) throws ErrnoException {}

  /** Returns the objects of the pages of {@code [start, end)}; caller holds struct_mutex. */
  final List<I915Object> objects(long start, long end) throws ErrnoException {
    if (closed) {
      throw new ErrnoException(Errno.EINVAL, hw.deviceId() + " is torn down");
    }
    List<I915Object> out = new ArrayList<>();
    long first = start & ~(AddressSpace.PAGE_SIZE - 1);
    for (long page = first; Long.compareUnsigned(page, end) < 0; page += AddressSpace.PAGE_SIZE) {
      boolean[] created = new boolean[1];
      I915Object o = objectAt(page, created);
      if (created[0]) {
        try {
          objectCreated(o);
        } catch (ErrnoException e) {
          objects.remove(page);
          throw e;
        }
      }
      out.add(o);
    }
    return out;
  }

  /** Returns the object of the page, creating it; caller holds {@link #structMutex}. */
  private I915Object objectAt(long page, boolean[] created) {
    I915Object o = objects.get(page);
    if (o == null) {
      o = hw.newObject(page);
      objects.put(page, o);
      created[0] = true;
    }
    return o;
  }

  /** Waits for the object's jobs, unbinds it from the VM and drops its pages. */
  final void unbindAndPutPages(I915Object o) {
    hw.waitIdle(o);
    hw.unbind(o);
    putPages(o);
    o.writable = false;
  }

  /** Drops the object's pages, if it holds any ({@code put_pages}). */
  final void putPages(I915Object o) {
    stats.unpinned(hw.releasePages(o));
  }

  /** Pins {@code o}'s page under the mmap lock (read) and returns the frame. */
  final long[] pinPage(I915Object o, boolean write) throws ErrnoException {
    mm.mmapLock().downRead();
    try {
      return pinPageLocked(o, write);
    } finally {
      mm.mmapLock().upRead();
    }
  }

  /** Pins {@code o}'s page ({@code FOLL_PIN}); caller holds the mmap lock. */
  final long[] pinPageLocked(I915Object o, boolean write) throws ErrnoException {
    long[] pfns = new long[1];
    int flags = Gup.FOLL_PIN | (write ? Gup.FOLL_WRITE : 0);
    int got = mm.getUserPages(o.start, 1, flags, pfns);
    if (got != 1) {
      throw new ErrnoException(Errno.EFAULT, o.name + ": pinned " + got + " of 1 pages");
    }
    stats.pinned(1);
    return pfns;
  }

  final void unpin(long[] pfns) {
    hw.unpin(pfns);
    stats.unpinned(pfns.length);
  }
}
