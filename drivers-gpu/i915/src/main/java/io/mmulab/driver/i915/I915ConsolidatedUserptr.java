package io.mmulab.driver.i915;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.gpu.GpuJob;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The consolidated userptr code (v5.13, ed29c2691188): every object embeds an interval notifier
 * over its range, inserted when the object is created (the userptr ioctl) and removed when it is
 * released; {@code i915->mm.notifier_lock} is the update lock.
 *
 * <ol>
 *   <li>Callback ({@link #invalidate}): non-blockable → false; {@code notifier_lock}, {@code
 *       setSeq}, unlock; wait (no timeout) for every fence of the object's reservation object.
 *       Pages stay pinned and the binding stays; the next execbuf unbinds.
 *   <li>Execbuf ({@link #execbuf}): {@code userptr_submit_init} — unbind, {@code readBegin}, pin
 *       the pages; then {@code userptr_submit_done} — under {@code notifier_lock}, {@code
 *       readRetry} for every object, {@code -EAGAIN} (restart) on a collision, else bind and
 *       install the request's fence, and only then drop the lock.
 * </ol>
 *
 * <p>Why it is correct: {@code setSeq} and the final {@code readRetry} are serialized by {@code
 * notifier_lock}. Either execbuf sees the collision and restarts, or the fence is in the object's
 * resv before the callback can take the lock, and the callback's fence wait covers the new job.
 *
 * <p>One deviation, forced by the checker: the kernel binds the pages before {@code submit_done}
 * (harmless there, the GPU cannot run the batch before the fence is installed); the simulated
 * checker judges the binding itself, so the bind happens under {@code notifier_lock} after the
 * retry check. The kernel's "current task is exiting: skip the wait" shortcut is not modelled: a
 * callback that returns with jobs running is exactly what the checker reports.
 */
final class I915ConsolidatedUserptr extends I915Userptr {
  /** The update lock: kernel {@code i915->mm.notifier_lock} (a spin lock there, see below). */
  private final Mutex notifierLock;

  I915ConsolidatedUserptr(I915Device dev) {
    this(dev.rt, dev.mm, dev);
  }

  I915ConsolidatedUserptr(SyncRuntime rt, AddressSpace mm, I915Hardware hw) {
    super(rt, mm, hw);
    // A mutex, not a spin lock: submission installs the fence under it and the simulated ring may
    // wait for space (the kernel allocates nothing and never sleeps under notifier_lock).
    this.notifierLock = rt.newMutex(hw.name() + ".notifier_lock");
  }

  @Override
  DriverVariant variant() {
    return DriverVariant.CONSOLIDATED;
  }

  /** {@code i915_gem_userptr_init__mmu_notifier}: one interval notifier per object. */
  @Override
  void objectCreated(I915Object o) throws ErrnoException {
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, mm.name() + " has exited");
    }
    try {
      MmuIntervalNotifierOps ops = (sub, range, curSeq) -> invalidate(o, sub, range, curSeq);
      o.notifier = mm.insertIntervalNotifier(o.start, o.end() - o.start, ops, notifierLock);
    } finally {
      mm.mmput();
    }
    hw.subscriptionInserted(o.name, o.start, o.end());
  }

  /** {@code userptr_mn_invalidate}. */
  private boolean invalidate(
      I915Object o, MmuIntervalNotifier sub, MmuNotifierRange range, long curSeq) {
    // The checker is told about this object's part of the range only: other objects in the range
    // have their own callbacks, which may not have run yet.
    long start = Long.compareUnsigned(range.start(), o.start) > 0 ? range.start() : o.start;
    long end = Long.compareUnsigned(range.end(), o.end()) < 0 ? range.end() : o.end();
    stats.invalidation();
    if (!range.blockable()) {
      stats.refused();
      // Never sleeps, never reaps: the OOM reaper gives up on a process with a userptr object in
      // the range, and its memory goes when the process exits.
      return false;
    }
    hw.callbackEntered(o.name, start, end);
    notifierLock.lock();
    try {
      sub.setSeq(curSeq); // any execbuf that has not installed its fence yet will retry
    } finally {
      notifierLock.unlock();
    }
    // Every job that may use the old pages has its fence in the resv by now: wait for them all.
    hw.waitIdle(o);
    hw.callbackReturned(o.name, start, end, curSeq);
    return true;
  }

  @Override
  @Nullable DmaFence execbuf(long start, long end, boolean write, @Nullable GpuJob job)
      throws ErrnoException {
    for (int attempt = 0; attempt < MAX_RESTARTS; attempt++) {
      structMutex.lock(); // the objects' locks (ww) of eb_lock_vmas
      try {
        List<I915Object> objs = objects(start, end);
        // i915_gem_object_userptr_submit_init, per object
        long[] seqs = new long[objs.size()];
        for (int i = 0; i < objs.size(); i++) {
          I915Object o = objs.get(i);
          unbindAndPutPages(o); // unbind (waits for the GPU), drop the previous pages
          seqs[i] = notifierOf(o).readBegin(); // waits for a running invalidation of the object
        }
        int pinned = 0;
        try {
          mm.mmapLock().downRead();
          try {
            for (I915Object o : objs) {
              hw.setPages(o, pinPageLocked(o, write), write); // pin_user_pages_fast, may sleep
              o.writable = write;
              pinned++;
            }
          } finally {
            mm.mmapLock().upRead();
          }
        } catch (ErrnoException e) {
          for (int i = 0; i < pinned; i++) {
            putPages(objs.get(i));
          }
          throw e;
        }
        rt.yieldPoint("i915: pages pinned, before submit_done");
        // i915_gem_object_userptr_submit_done, from eb_move_to_gpu under notifier_lock
        notifierLock.lock();
        try {
          boolean collided = false;
          for (int i = 0; i < objs.size(); i++) {
            collided |= notifierOf(objs.get(i)).readRetry(seqs[i]);
          }
          if (!collided) {
            for (I915Object o : objs) {
              hw.bind(o);
            }
            stats.fault();
            if (job == null) {
              return null;
            }
            return hw.submit(job, objs); // fence in every resv before it runs
          }
        } finally {
          notifierLock.unlock();
        }
        // -EAGAIN: an invalidation collided; user space restarts the ioctl
        stats.retry();
        for (I915Object o : objs) {
          putPages(o);
        }
      } finally {
        structMutex.unlock();
      }
    }
    throw new ErrnoException(Errno.EAGAIN, "i915 execbuf kept colliding with invalidations");
  }

  @Override
  void teardown() {
    structMutex.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      hw.waitVmIdle(); // no job may outlive the notifiers
      for (I915Object o : objects.values()) {
        // i915_gem_userptr_release: remove the notifier (waits for a running callback), then
        // put the pages
        notifierOf(o).remove();
        hw.subscriptionRemoved(o.name);
        unbindAndPutPages(o);
      }
      objects.clear();
    } finally {
      structMutex.unlock();
    }
    hw.shutdown();
  }

  /** The notifier every object of this variant gets when it is created. */
  private static MmuIntervalNotifier notifierOf(I915Object o) {
    return Objects.requireNonNull(o.notifier, o.name);
  }
}
