package io.mmulab.driver.gntdev;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.sim.driver.DriverStats;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * One open of the grant device ({@code struct gntdev_priv}) and what each variant does differently:
 * how invalidations reach the grant maps, how a map's grants are unmapped, and what mmap, the VMA's
 * close and the file's release do. {@link GntdevAdapter} drives it.
 *
 * <p>Locks: {@code lock} ({@code priv->lock}, a mutex) guards {@link #maps} (and, legacy, {@code
 * freeable_maps} and each map's {@code vma}); it is taken under the mmap lock, never the other way
 * round. Nothing else of the file is shared: a map's grants are written by the mmap path (mmap lock
 * held for write) and cleared by the variant's unmap.
 */
abstract class GntdevFile {
  final DriverVariant variant;
  final String id;
  final AddressSpace mm;
  final GntdevHypervisor hv;
  final DriverStats stats = new DriverStats();
  final Mutex lock;
  private final SyncRuntime rt;

  /** Completed asynchronous unmaps; {@link #unmapsDone} is woken at each. */
  final AtomicLong unmapsCompleted = new AtomicLong();

  final WaitQueue unmapsDone;

  // Guarded by lock.
  final List<GntdevGrantMap> maps = new ArrayList<>();
  private int nextMap;

  /**
   * @param id the device's name
   * @param mm the opener's address space
   */
  GntdevFile(
      DriverVariant variant, String id, AddressSpace mm, SyncRuntime rt, GntdevHypervisor hv) {
    this.variant = variant;
    this.id = id;
    this.mm = mm;
    this.hv = hv;
    this.rt = rt;
    this.lock = rt.newMutex(id + ".lock");
    this.unmapsDone = rt.newWaitQueue(id + ".unmaps-done");
  }

  /** The open path ({@code gntdev_open}). */
  abstract void open() throws ErrnoException;

  /**
   * The variant's part of {@code gntdev_mmap} for a new map, with the mmap lock of the map's
   * process held for write; the map is on {@link #maps} already.
   */
  abstract void mmap(GntdevGrantMap map) throws ErrnoException;

  /** The VMA of the map closes ({@code gntdev_vma_close}); the mmap lock is held for write. */
  abstract void vmaClose(GntdevGrantMap map);

  /** {@code unmap_grant_pages}: the grants of pages {@code [first, end)} of the map go. */
  abstract void unmapGrantPages(GntdevGrantMap map, int first, int end);

  /** The file's release, once every map's VMA closed. */
  abstract void release();

  /**
   * The process lets the device go: munmaps every grant map (its grants are unmapped while the
   * notifiers still watch, then its VMA closes) and closes the file. Each map is handled under its
   * process's mmap lock held for write, which keeps every invalidation of those pages out.
   */
  void close() {
    for (GntdevGrantMap map : allMaps()) {
      AddressSpace as = map.mm;
      boolean alive = as.mmgetNotZero(); // after exit, RELEASE has unmapped everything already
      as.mmapLock().downWrite();
      try {
        unmapGrantPages(map, 0, map.count);
        if (map.vma) {
          vmaClose(map);
        }
      } finally {
        as.mmapLock().upWrite();
        if (alive) {
          as.mmput();
        }
      }
    }
    release();
  }

  /** Whether the page's grant is still being unmapped (its slot cannot take another grant yet). */
  boolean beingRemoved(GntdevGrantMap map, int index) {
    return false;
  }

  /** Every map of the file (legacy: also those on {@code freeable_maps}). */
  List<GntdevGrantMap> allMaps() {
    lock.lock();
    try {
      return List.copyOf(maps);
    } finally {
      lock.unlock();
    }
  }

  /** The map in {@code as} whose VMA covers {@code va}, or null. */
  @Nullable GntdevGrantMap findMap(AddressSpace as, long va) {
    lock.lock();
    try {
      for (GntdevGrantMap m : maps) {
        if (m.vma && m.covers(as, va)) {
          return m;
        }
      }
      return null;
    } finally {
      lock.unlock();
    }
  }

  /** Adds a new map over {@code [start, start + count pages)} of {@code as} to the file. */
  GntdevGrantMap addMap(AddressSpace as, long start, int count) {
    lock.lock();
    try {
      String name = id + ".map" + nextMap++;
      GntdevGrantMap m = new GntdevGrantMap(name, rt.newSpinLock(name), as, start, count);
      maps.add(m);
      return m;
    } finally {
      lock.unlock();
    }
  }

  /**
   * The synchronous unmap of the legacy and 5.5 drivers: each mapped page's grant in turn, waiting
   * until its page is no longer in use; pages with no grant are skipped.
   */
  final void unmapSync(GntdevGrantMap map, int first, int end) {
    for (int i = first; i < end; i++) {
      long h = map.handles.get(i);
      if (h == GntdevGrantMap.INVALID_HANDLE) {
        continue;
      }
      try {
        hv.unmapGrant(h);
        hv.endForeignAccess(map.refs[i]);
      } catch (ErrnoException e) {
        // The kernel's WARN_ON(err): the checker has recorded the unmap of a dead handle.
      }
      map.handles.set(i, GntdevGrantMap.INVALID_HANDLE);
    }
  }

  /** The page-aligned part of {@code range} the map covers, for the checker. */
  static long clipStart(GntdevGrantMap map, MmuNotifierRange range) {
    return Long.compareUnsigned(range.start(), map.start) > 0 ? range.start() : map.start;
  }

  static long clipEnd(GntdevGrantMap map, MmuNotifierRange range) {
    return Long.compareUnsigned(range.end(), map.end()) < 0 ? range.end() : map.end();
  }
}
