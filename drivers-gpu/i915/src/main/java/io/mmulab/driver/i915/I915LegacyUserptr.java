package io.mmulab.driver.i915;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.gpu.GpuJob;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The legacy userptr code (≈ v4.x–v5.12, {@code i915_gem_userptr.c} before ed29c2691188): one
 * classic {@link MmuNotifier} per (device, mm) — kernel {@code struct i915_mmu_notifier} — with a
 * spin lock and a private interval tree of the <em>active</em> objects, those holding pages.
 *
 * <ul>
 *   <li>{@code get_pages} ({@link #execbuf}): pin the pages, then insert the object into the tree
 *       ({@code __i915_gem_userptr_set_active}), then bind. <b>Keeps the stale-binding race on
 *       purpose</b> (see {@code LEGACY RACE} below).
 *   <li>{@code invalidate_range_start} ({@link Notifier#invalidateRangeStart}): under the spin lock
 *       find an intersecting object; non-blockable → fail; else drop the lock, unbind (waits for
 *       the GPU) and put the pages (which removes it from the tree), retake the lock and restart
 *       the walk from the beginning. No {@code invalidate_range_end}, no sequence count.
 * </ul>
 *
 * <p>The tree is a list scanned in address order (the interval tree's semantics, not its cost).
 */
final class I915LegacyUserptr extends I915Userptr {
  /** The name the checker knows the whole-mm notifier by. */
  static final String MN = "i915_mmu_notifier";

  private final SpinLock treeLock;
  private final List<I915Object> tree = new ArrayList<>(); // guarded by treeLock
  private final Notifier notifier = new Notifier();
  private boolean registered;

  I915LegacyUserptr(I915Device dev) throws ErrnoException {
    this(dev.rt, dev.mm, dev);
  }

  I915LegacyUserptr(SyncRuntime rt, AddressSpace mm, I915Hardware hw) throws ErrnoException {
    super(rt, mm, hw);
    this.treeLock = rt.newSpinLock(hw.name() + ".mn.lock");
    // i915_mmu_notifier_create + mmu_notifier_register (the kernel does it lazily, on the first
    // userptr object of the mm; here at open, which is the same for the scenarios).
    mm.registerNotifier(notifier);
    registered = true;
    hw.subscriptionInserted(MN, 0, MmuNotifierRange.ULONG_MAX);
  }

  @Override
  DriverVariant variant() {
    return DriverVariant.LEGACY;
  }

  @Override
  @Nullable DmaFence execbuf(long start, long end, boolean write, @Nullable GpuJob job)
      throws ErrnoException {
    for (int attempt = 0; attempt < MAX_RESTARTS; attempt++) {
      List<I915Object> objs;
      structMutex.lock();
      try {
        objs = objects(start, end);
      } finally {
        structMutex.unlock();
      }
      // i915_gem_userptr_get_pages, fast path: pin every page that the object does not hold
      // (with write permission if the batch writes) before anything else, without struct_mutex
      // (the kernel uses lockless fast GUP; here GUP under the mmap lock for read).
      long[][] pvecs = new long[objs.size()][];
      try {
        for (int i = 0; i < objs.size(); i++) {
          I915Object o = objs.get(i);
          if (!hw.hasPages(o) || (write && !o.writable)) {
            pvecs[i] = pinPage(o, write);
          }
        }
      } catch (ErrnoException e) {
        releasePvecs(pvecs);
        throw e;
      }
      // LEGACY RACE: the pages are pinned here but the object is not in the tree yet. Timeline:
      //   CPU  madvise(DONTNEED)/migrate: invalidate_range_start -> tree has no object -> return
      //   GPU  (this thread) pins the OLD frame above, inserts the object below, binds it
      //   CPU  zaps the PTE (or replaces the frame) -> no callback will ever come for it
      //   GPU  batch reads/writes the old frame: STALE_USE (the page pin prevents a UAF).
      // Same window for an object already active: start unbinds and puts its pages, then this
      // thread pins again before the PTE changes (no end callback, no sequence count).
      rt.yieldPoint("i915 legacy: pages pinned, object not yet in the tree");
      structMutex.lock();
      try {
        boolean restart = false;
        List<I915Object> newlyBound = new ArrayList<>();
        for (int i = 0; i < objs.size(); i++) {
          I915Object o = objs.get(i);
          if (pvecs[i] == null) {
            if (!hw.hasPages(o) || (write && !o.writable)) {
              restart = true; // an invalidation put the pages meanwhile: -EAGAIN
            }
            continue;
          }
          if (hw.hasPages(o)) {
            if (o.writable || !write) {
              unpin(pvecs[i]); // another thread installed usable pages first
              pvecs[i] = null;
              continue;
            }
            // upgrade to writable pages: put the read-only ones first
            setActive(o, false);
            unbindAndPutPages(o);
          }
          hw.setPages(o, pvecs[i], write);
          o.writable = write;
          pvecs[i] = null;
          setActive(o, true); // __i915_gem_userptr_set_active: now visible to invalidations
          newlyBound.add(o);
        }
        if (restart || closed) {
          releasePvecs(pvecs);
          if (closed) {
            throw new ErrnoException(Errno.EINVAL, hw.deviceId() + " is torn down");
          }
          stats.retry();
          continue;
        }
        for (I915Object o : newlyBound) {
          hw.bind(o); // i915_vma_bind into the ppGTT
        }
        if (!newlyBound.isEmpty()) {
          stats.fault();
        }
        if (job == null) {
          return null;
        }
        return hw.submit(job, objs);
      } finally {
        structMutex.unlock();
      }
    }
    throw new ErrnoException(Errno.EAGAIN, "i915 legacy execbuf kept colliding with put_pages");
  }

  private void releasePvecs(long[][] pvecs) {
    for (long[] p : pvecs) {
      if (p != null) {
        unpin(p);
      }
    }
  }

  private void setActive(I915Object o, boolean active) {
    treeLock.lock();
    try {
      if (active && !o.active) {
        tree.add(o);
      } else if (!active && o.active) {
        tree.remove(o);
      }
      o.active = active;
    } finally {
      treeLock.unlock();
    }
  }

  /** The first active object intersecting the range; caller holds the tree lock. */
  private @Nullable I915Object firstIntersecting(long start, long end) {
    I915Object first = null;
    for (I915Object o : tree) {
      if (o.intersects(start, end)
          && (first == null || Long.compareUnsigned(o.start, first.start) < 0)) {
        first = o;
      }
    }
    return first;
  }

  @Override
  void teardown() {
    structMutex.lock();
    try {
      if (closed) {
        return;
      }
      closed = true; // no more execbufs
    } finally {
      structMutex.unlock();
    }
    hw.waitVmIdle();
    // i915_mmu_notifier_free / mmu_notifier_unregister: not under struct_mutex, which the
    // callback takes.
    if (registered) {
      mm.unregisterNotifier(notifier);
      registered = false;
    }
    structMutex.lock();
    try {
      for (I915Object o : objects.values()) {
        setActive(o, false);
        unbindAndPutPages(o);
      }
      objects.clear();
    } finally {
      structMutex.unlock();
    }
    hw.subscriptionRemoved(MN);
    hw.shutdown();
  }

  /**
   * A non-blockable start (OOM reaper): {@code -EAGAIN} as soon as one object intersects, since
   * unbinding may wait for the GPU. A range with no object in the tree is reaped — including the
   * pages of an object whose execbuf fetched them before it became visible (LEGACY RACE above).
   */
  private boolean invalidateNonBlockable(long start, long end) {
    treeLock.lock();
    try {
      return firstIntersecting(start, end) == null;
    } finally {
      treeLock.unlock();
    }
  }

  /** The classic notifier: {@code i915_gem_userptr_mn_invalidate_range_start}. */
  private final class Notifier implements MmuNotifier {
    @Override
    public boolean invalidateRangeStart(MmuNotifierRange range) {
      long start = range.start();
      long end = range.end();
      stats.invalidation();
      treeLock.lock();
      try {
        if (tree.isEmpty()) {
          return true; // RB_EMPTY_ROOT: nothing active, nothing to do (see LEGACY RACE)
        }
      } finally {
        treeLock.unlock();
      }
      if (!range.blockable()) {
        boolean reaped = invalidateNonBlockable(start, end);
        if (!reaped) {
          stats.refused();
        }
        return reaped;
      }
      hw.callbackEntered(MN, start, end);
      treeLock.lock();
      try {
        // No termination guarantee: an object that turns active in the range while the lock is
        // dropped is found by the next walk, and so on (the restart-from-first walk of
        // MIGRATION.md, not declared).
        for (I915Object o = firstIntersecting(start, end);
            o != null;
            o = firstIntersecting(start, end)) {
          treeLock.unlock();
          try {
            // unbind (waits for active rendering) then put_pages (unpins, leaves the tree)
            structMutex.lock();
            try {
              setActive(o, false);
              unbindAndPutPages(o);
            } finally {
              structMutex.unlock();
            }
          } finally {
            treeLock.lock(); // and restart the walk from the first object
          }
        }
      } finally {
        treeLock.unlock();
      }
      hw.callbackReturned(MN, start, end, 0);
      return true;
    }
  }
}
