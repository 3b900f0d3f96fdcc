package io.mmulab.driver.umemodp;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierFactory;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SyncRuntime;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * LEGACY (v5.4) kernel {@code struct ib_ucontext_per_mm}: the one classic notifier per address
 * space, found through {@code mmu_notifier_get} ({@link #factory}), with the umems of every region
 * registered on that address space and {@code umem_rwsem}.
 *
 * <p>Locking: {@code umemRwsem} guards {@code tree}. It is held for read from {@code
 * invalidate_range_start} to {@code invalidate_range_end}, because the end walks the tree again and
 * must find exactly the umems the start counted; insertion and removal take it for write.
 */
final class UmemOdpPerMm implements MmuNotifier {
  // One allocator per simulated machine (its runtime), as the kernel has one ib_umem_notifiers.
  private static final Map<SyncRuntime, MmuNotifierFactory<UmemOdpPerMm>> FACTORIES =
      Collections.synchronizedMap(new WeakHashMap<>());

  private final AddressSpace mm;
  private final RwSemaphore umemRwsem;
  // Kernel per_mm->umem_tree, an interval tree; a list here (a process has a few regions).
  private final List<UmemOdpLegacyUmem> tree = new ArrayList<>(); // guarded by umemRwsem
  // Cleared by release under umemRwsem (read) and never set again; read without it by end.
  private volatile boolean active = true;

  UmemOdpPerMm(AddressSpace mm, RwSemaphore umemRwsem) {
    this.mm = mm;
    this.umemRwsem = umemRwsem;
  }

  @Override
  public boolean invalidateRangeStart(MmuNotifierRange range) {
    if (range.blockable()) {
      // The race: this read hold lasts until invalidateRangeEnd. A huge-page split inside the zap
      // starts a nested invalidation on this thread, which takes umem_rwsem for read again; if a
      // registration queued for write in between, the semaphore's writer preference blocks the
      // nested read behind that writer, which waits for the outer read: a deadlock.
      umemRwsem.downRead();
    } else if (!umemRwsem.downReadTrylock()) {
      return false;
    }
    if (!active) {
      umemRwsem.upRead(); // end sees !active too and returns at once
      return true;
    }
    List<UmemOdpLegacyUmem> hits = intersecting(range);
    if (!range.blockable() && !hits.isEmpty()) {
      umemRwsem.upRead(); // no end follows a refused start
      return false;
    }
    for (UmemOdpLegacyUmem u : hits) {
      u.invalidateStart(range);
    }
    return true;
  }

  @Override
  public void invalidateRangeEnd(MmuNotifierRange range) {
    if (!active) {
      return;
    }
    for (UmemOdpLegacyUmem u : intersecting(range)) {
      u.invalidateEnd();
    }
    umemRwsem.upRead();
  }

  @Override
  public void release(AddressSpace exiting) {
    umemRwsem.downRead();
    try {
      active = false;
      for (UmemOdpLegacyUmem u : tree) {
        u.releaseAccount();
      }
    } finally {
      umemRwsem.upRead();
    }
  }

  /** Kernel {@code ib_init_umem_odp}'s tree insertion. */
  void insert(UmemOdpLegacyUmem umem) {
    umemRwsem.downWrite();
    try {
      tree.add(umem);
    } finally {
      umemRwsem.upWrite();
    }
  }

  /**
   * Kernel {@code ib_umem_odp_release}'s part under the write lock: out of the tree, waiters
   * released, the per-mm reference put (under the lock, as 5.4 does, since a start may lack its
   * end).
   */
  void remove(UmemOdpLegacyUmem umem) {
    umemRwsem.downWrite();
    try {
      tree.remove(umem);
      umem.completeAll();
      mm.putNotifier(this);
    } finally {
      umemRwsem.upWrite();
    }
  }

  private List<UmemOdpLegacyUmem> intersecting(MmuNotifierRange range) {
    List<UmemOdpLegacyUmem> hits = new ArrayList<>();
    for (UmemOdpLegacyUmem u : tree) {
      if (u.intersects(range.start(), range.end())) {
        hits.add(u);
      }
    }
    return hits;
  }

  @Override
  public String toString() {
    return "ib_ucontext_per_mm of " + mm.name();
  }

  /**
   * Returns the allocator {@code mmu_notifier_get} finds the per-mm context by (kernel {@code
   * ib_umem_notifiers}) on the machine whose runtime is {@code runtime}.
   */
  static MmuNotifierFactory<UmemOdpPerMm> factory(SyncRuntime runtime) {
    return FACTORIES.computeIfAbsent(runtime, Factory::new);
  }

  private static final class Factory implements MmuNotifierFactory<UmemOdpPerMm> {
    // Weak: FACTORIES holds this factory strongly as the value of its runtime's weak key, so a
    // strong reference back would keep every finished run's runtime (and its machine) alive.
    private final WeakReference<SyncRuntime> runtime;

    Factory(SyncRuntime runtime) {
      this.runtime = new WeakReference<>(runtime);
    }

    @Override
    public UmemOdpPerMm allocNotifier(AddressSpace mm) {
      SyncRuntime rt = runtime.get();
      if (rt == null) {
        throw new IllegalStateException("the runtime of " + mm.name() + " is gone");
      }
      return new UmemOdpPerMm(mm, rt.newRwSemaphore(mm.name() + ".umem_rwsem"));
    }

    @Override
    public void freeNotifier(UmemOdpPerMm notifier) {}

    @Override
    public String toString() {
      return "ib_umem_notifiers";
    }
  }
}
