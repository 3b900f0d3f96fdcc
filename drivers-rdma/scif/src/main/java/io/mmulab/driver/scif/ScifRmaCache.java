package io.mmulab.driver.scif;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The temporary window cache of one endpoint and its process (kernel {@code scif_rma_copy} with
 * {@code SCIF_RMA_USECACHE} on a user address, {@code scif_query_tcw}, the cleanup worker's {@code
 * scif_rma_destroy_tcw_invalid}). A variant decides how a window is registered on a miss and how
 * invalidations reach the windows.
 *
 * <p>A copy: take {@code rma_lock}, hold the address space ({@code current->mm} in the kernel,
 * where the caller is the process; {@code EFAULT} here once it is gone), look the range up on the
 * list under {@code tc_lock}; a hit begins the copy's operation there, under {@code tc_lock}, so
 * that an invalidation either unlinked the window before (a miss) or lets the copy finish on it; a
 * miss registers a window ({@link #register}). Then program the descriptors, release {@code
 * rma_lock}, and for a synchronous copy drain the channel.
 *
 * <p>An invalidation unlinks the windows it hits under {@code tc_lock} and queues them for the
 * cleanup worker, which destroys each under {@code rma_lock} after draining the channel, so that
 * the copies programmed on it (under {@code rma_lock}) finish before its pages are unpinned.
 *
 * <p>Lock order: {@code rma_lock} (mutex) → {@code mmn_lock} (legacy) → mmap lock → {@code tc_lock}
 * (spin lock) → {@code rmalock} (spin lock, the cleanup queue; a leaf). Invalidate callbacks take
 * only the spin locks, so they never sleep and serve non-blockable ranges too; nothing waits in
 * {@code readBegin} or {@code remove()} holding a lock a callback takes.
 */
abstract class ScifRmaCache {
  /** A window found or registered for a copy, and the copy's checker operation. */
  record Use(ScifWindow window, long operation) {}

  static final long PAGE = AddressSpace.PAGE_SIZE;

  /** The label of the scheduling point between a miss's pin and its taking {@code tc_lock}. */
  static final String PINNED = "window pinned, before tc_lock";

  final SyncRuntime rt;
  final AddressSpace mm;
  final String id;
  final ScifRma hw;
  final DriverStats stats;

  /** Serializes copies with the worker's drain and destroy. */
  final Mutex rmaLock;

  /** Guards {@link #list} and each window's {@code linked}. */
  final SpinLock tcLock;

  final ScifTcList list = new ScifTcList();

  /** Guards {@link #cleanup}. */
  private final SpinLock rmalock;

  private final ArrayDeque<ScifWindow> cleanup = new ArrayDeque<>();

  private boolean closed; // guarded by rmaLock

  ScifRmaCache(SyncRuntime rt, AddressSpace mm, String id, ScifRma hw, DriverStats stats) {
    this.rt = Objects.requireNonNull(rt, "rt is null");
    this.mm = Objects.requireNonNull(mm, "mm is null");
    this.id = Objects.requireNonNull(id, "id is null");
    this.hw = Objects.requireNonNull(hw, "hw is null");
    this.stats = Objects.requireNonNull(stats, "stats is null");
    this.rmaLock = rt.newMutex(id + ".rma_lock");
    this.tcLock = rt.newSpinLock(id + ".tc_lock");
    this.rmalock = rt.newSpinLock(id + ".rmalock");
  }

  /**
   * Copies {@code words} words between user memory from {@code va} and the peer window from {@code
   * peerOffset} through a cached window.
   *
   * @param toPeer true for {@code vwriteto} (the device reads user memory), false for {@code
   *     vreadfrom} (it writes user memory)
   * @param interrupt run when the copy's DMA completed, or null
   * @param sync whether to drain the channel before returning ({@code SCIF_RMA_SYNC})
   */
  final void copy(
      long va,
      int words,
      long peerOffset,
      boolean toPeer,
      @Nullable Runnable interrupt,
      boolean sync)
      throws ErrnoException {
    long start = va & -PAGE;
    long end = (va + (long) words * Long.BYTES + PAGE - 1) & -PAGE;
    withWindow(
        start,
        end,
        !toPeer,
        u -> hw.program(u.window(), u.operation(), va, words, peerOffset, toPeer, interrupt));
    if (sync) {
      hw.drain();
    }
  }

  /** Registers (caches) a window over {@code [start, end)} without copying. */
  final void prefetch(long start, long end, boolean write) throws ErrnoException {
    withWindow(start, end, write, u -> {});
  }

  private interface Step {
    void run(Use u);
  }

  private void withWindow(long start, long end, boolean write, Step step) throws ErrnoException {
    rmaLock.lock();
    try {
      if (closed) {
        throw new ErrnoException(Errno.EINVAL, id + " is closed");
      }
      if (!mm.mmgetNotZero()) {
        throw new ErrnoException(Errno.EFAULT, id + ": the process is gone");
      }
      try {
        beforeCopy();
        step.run(lookupOrRegister(start, end, write));
      } finally {
        mm.mmput();
      }
    } finally {
      rmaLock.unlock();
    }
  }

  private Use lookupOrRegister(long start, long end, boolean write) throws ErrnoException {
    ScifTcList.Lookup found;
    tcLock.lock();
    try {
      found = list.query(start, end, write);
      if (found.evicted() != null) {
        queueForCleanup(found.evicted());
      }
      if (found.hit() != null) {
        return new Use(found.hit(), hw.beginOperation());
      }
    } finally {
      tcLock.unlock();
    }
    if (found.evicted() != null) {
      hw.scheduleCleanup();
    }
    return register(found.start(), found.end(), write);
  }

  /** Runs first in a copy, under {@code rma_lock}; the legacy cache registers its notifier here. */
  void beforeCopy() throws ErrnoException {}

  /**
   * The miss path: pins and maps a window over {@code [start, end)}, links it and begins the copy's
   * operation on it. Called with {@code rma_lock} held and a user reference on the address space.
   */
  abstract Use register(long start, long end, boolean write) throws ErrnoException;

  /** Publishes a registered window and begins the copy on it. {@code tc_lock} held. */
  final Use publishLocked(ScifWindow w) {
    list.insert(w);
    stats.fault();
    return new Use(w, hw.beginOperation());
  }

  /** Queues unlinked windows for the cleanup worker; any lock order-safe context. */
  final void queueForCleanup(ScifWindow w) {
    rmalock.lock();
    try {
      cleanup.addLast(w);
    } finally {
      rmalock.unlock();
    }
  }

  final void queueAllForCleanup(List<ScifWindow> windows) {
    windows.forEach(this::queueForCleanup);
  }

  /** Whether windows wait for the cleanup worker. */
  final boolean hasCleanup() {
    rmalock.lock();
    try {
      return !cleanup.isEmpty();
    } finally {
      rmalock.unlock();
    }
  }

  /**
   * The cleanup worker's job: for each queued window, take {@code rma_lock}, drain the channel,
   * destroy the window (unmap, unpin), then {@link #destroyed}.
   *
   * @return whether it destroyed a window
   */
  final boolean destroyInvalid() {
    boolean any = false;
    while (true) {
      ScifWindow w;
      rmalock.lock();
      try {
        w = cleanup.pollFirst();
      } finally {
        rmalock.unlock();
      }
      if (w == null) {
        return any;
      }
      rmaLock.lock();
      try {
        hw.drain();
        hw.destroy(w);
      } finally {
        rmaLock.unlock();
      }
      destroyed(w);
      any = true;
    }
  }

  /**
   * After the worker destroyed {@code w}, no lock held; the consolidated cache removes its
   * notifier.
   */
  void destroyed(ScifWindow w) {}

  /**
   * Closes the cache (endpoint release): copies fail from now on and every cached window is queued
   * for the worker. The caller lets the worker empty the queue, then calls {@link #unsubscribe}.
   */
  final void close() {
    rmaLock.lock();
    try {
      closed = true;
      tcLock.lock();
      try {
        queueAllForCleanup(list.removeAll());
      } finally {
        tcLock.unlock();
      }
    } finally {
      rmaLock.unlock();
    }
  }

  /** After the last window was destroyed: removes what still subscribes the cache. */
  void unsubscribe() {}

  /** Pages of {@code [start, end)}. */
  static int pages(long start, long end) {
    return (int) ((end - start) / PAGE);
  }
}
