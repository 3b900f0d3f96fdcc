package io.mmulab.driver.radeon;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * radeon before 5.5 (v5.4, {@code radeon_mn.c} after the {@code mmu_notifier_get} conversion): one
 * classic notifier per address space ({@code struct radeon_mn}) holding a mutex and a tree of
 * <em>merged</em> nodes, each with the list of BOs it covers. Registration merges every node the
 * new BO overlaps into one wider node, so nodes never overlap. {@code invalidate_range_start} takes
 * the mutex (try-locks it when non-blockable, and then refuses at the first node the range hits),
 * and for every node the range hits evicts every bound BO of its list: reserve, wait all fences,
 * move to the CPU domain (unbind + unpin), unreserve. There is no {@code invalidate_range_end}, and
 * the CS path looks pages up with no sequence check.
 *
 * <p>The declared race ({@link RadeonFactory#GUP_AFTER_START_LEGACY}): see the {@code LEGACY RACE}
 * comments in {@link #validateAndSubmit} and {@link Mn#invalidateRangeStart}.
 *
 * <p>The node tree is a list scanned linearly (an interval tree in the kernel): nodes never overlap
 * and are few, and the order is irrelevant to the behaviour being reproduced. Needless merging (the
 * spec's L2) is observable: an invalidation of one BO's range evicts every BO merged with it.
 */
final class RadeonLegacy extends RadeonUserptr {
  static final String SUB = "radeon_mn";

  /** A node of the tree: the inclusive range {@code [start, last]} and the BOs it covers. */
  static final class Node {
    long start;
    long last;
    final List<RadeonBo> bos = new ArrayList<>();

    Node(long start, long last) {
      this.start = start;
      this.last = last;
    }

    boolean overlaps(long s, long l) {
      return Long.compareUnsigned(start, l) <= 0 && Long.compareUnsigned(s, last) <= 0;
    }
  }

  /** {@code struct radeon_mn}: the per-address-space notifier. */
  final class Mn implements MmuNotifier {
    /** {@code rmn->lock}: guards the node tree; held across every fence wait of the mm. */
    final Mutex lock;

    final List<Node> nodes = new ArrayList<>();

    Mn() {
      lock = rt.newMutex(id + ".mn.lock");
    }

    /** {@code radeon_mn_invalidate_range_start}. */
    @Override
    public boolean invalidateRangeStart(MmuNotifierRange range) {
      stats.invalidation();
      gart.callbackEntered(SUB, range.start(), range.end());
      boolean blockable = range.blockable();
      if (blockable) {
        lock.lock();
      } else if (!lock.tryLock()) {
        stats.refused();
        return false; // -EAGAIN: the OOM reaper retries later
      }
      try {
        long last = range.end() - 1; // the kernel's inclusive end
        for (Node node : nodes) {
          if (!node.overlaps(range.start(), last)) {
            continue;
          }
          if (!blockable) {
            stats.refused();
            return false; // -EAGAIN: any BO of the node may need a fence wait
          }
          for (RadeonBo bo : node.bos) {
            // LEGACY RACE: the "is it bound" test is made before the reservation and a BO still on
            // the CPU is skipped. A CS that already did its GUP (old PFN, the PTE is not changed
            // until this callback returns) but has not bound yet is not stopped, and nothing calls
            // back once the PTE really changes: there is no invalidate_range_end.
            if (!bo.bound()) {
              continue;
            }
            bo.reserve.lock();
            try {
              evictLocked(bo);
            } finally {
              bo.reserve.unlock();
            }
          }
        }
      } finally {
        lock.unlock();
      }
      gart.callbackReturned(SUB, range.start(), range.end(), 0);
      return true;
    }

    /** Process exit: the same eviction over the whole address space. */
    @Override
    public void release(AddressSpace as) {
      stats.invalidation();
      gart.callbackEntered(SUB, 0, -1);
      lock.lock();
      try {
        for (Node node : nodes) {
          for (RadeonBo bo : node.bos) {
            if (!bo.bound()) {
              continue;
            }
            bo.reserve.lock();
            try {
              evictLocked(bo);
            } finally {
              bo.reserve.unlock();
            }
          }
        }
      } finally {
        lock.unlock();
      }
      gart.callbackReturned(SUB, 0, -1, 0);
    }

    /**
     * {@code radeon_mn_register}: merge every node the BO overlaps into one node covering them all
     * (the kernel's "needless merging").
     */
    void add(RadeonBo bo) {
      lock.lock();
      try {
        long start = bo.start();
        long last = bo.end() - 1;
        Node merged = new Node(start, last);
        for (Iterator<Node> it = nodes.iterator(); it.hasNext(); ) {
          Node n = it.next();
          if (n.overlaps(merged.start, merged.last)) {
            it.remove();
            merged.start = Long.compareUnsigned(n.start, merged.start) < 0 ? n.start : merged.start;
            merged.last = Long.compareUnsigned(n.last, merged.last) > 0 ? n.last : merged.last;
            merged.bos.addAll(n.bos);
            it = nodes.iterator(); // the widened node may now overlap an earlier one
          }
        }
        merged.bos.add(bo);
        nodes.add(merged);
      } finally {
        lock.unlock();
      }
    }

    /** {@code radeon_mn_unregister}: drop the BO, and its node once empty. */
    void remove(RadeonBo bo) {
      lock.lock();
      try {
        for (Iterator<Node> it = nodes.iterator(); it.hasNext(); ) {
          Node n = it.next();
          if (n.bos.remove(bo) && n.bos.isEmpty()) {
            it.remove();
          }
        }
      } finally {
        lock.unlock();
      }
    }

    /** The node covering {@code bo}, for tests: its inclusive range {@code [start, last]}. */
    long @Nullable [] nodeOf(RadeonBo bo) {
      lock.lock();
      try {
        for (Node n : nodes) {
          if (n.bos.contains(bo)) {
            return new long[] {n.start, n.last};
          }
        }
        return null;
      } finally {
        lock.unlock();
      }
    }
  }

  final Mn mn;

  RadeonLegacy(SyncRuntime rt, AddressSpace mm, String id, RadeonGart gart) throws ErrnoException {
    super(DriverVariant.LEGACY, rt, mm, id, gart);
    mn = new Mn();
    mm.registerNotifier(mn); // mmu_notifier_get
    gart.subscribed(SUB, 0, -1);
  }

  @Override
  void register(RadeonBo bo) {
    mn.add(bo);
  }

  @Override
  void unregister(RadeonBo bo) {
    mn.remove(bo);
  }

  @Override
  void unsubscribe() {
    mm.unregisterNotifier(mn); // mmu_notifier_put
    gart.unsubscribed(SUB);
  }

  /**
   * The CS: if the BO is bound, submit; otherwise GUP its pages with no sequence check, then
   * reserve, bind and submit.
   */
  @Override
  <F> @Nullable F validateAndSubmit(RadeonBo bo, boolean write, @Nullable Supplier<F> submitLocked)
      throws ErrnoException {
    while (true) {
      bo.reserve.lock();
      try {
        if (boundFor(bo, write)) {
          return submit(submitLocked);
        }
        if (bo.bound()) {
          evictLocked(bo); // bound read-only, a write needs a writable binding
        }
      } finally {
        bo.reserve.unlock();
      }
      // LEGACY RACE (timeline): CPU: munmap/migrate → invalidate_range_start → callback finds the
      // BO on the CPU, skips it, returns → [window] → PTE changed → no end callback.
      // GPU CS: in the window GUP returns the OLD pfn (the PTE is still there) and pins it; the CS
      // binds it into the GART below; the PTE then moves away under a live GART entry that no
      // callback will ever clear, and the job reads or writes the old page (STALE_USE).
      long[] pfns = pin(bo, write);
      boolean bound = false;
      F fence = null;
      bo.reserve.lock();
      try {
        if (!gart.hasPages(bo)) {
          bindLocked(bo, pfns, write); // no check that an invalidation ran since the GUP
          bound = true;
          fence = submit(submitLocked);
        }
      } finally {
        bo.reserve.unlock();
      }
      if (bound) {
        return fence;
      }
      unpin(pfns); // another CS bound it meanwhile: use its binding
    }
  }
}
