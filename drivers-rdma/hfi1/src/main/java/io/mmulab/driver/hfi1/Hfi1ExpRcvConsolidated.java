package io.mmulab.driver.hfi1;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Expected receive after the 2023 fixes ("remove user expected buffer invalidate race" and
 * "immediately remove invalid memory from hardware"): a temporary cover notifier over the whole
 * buffer is inserted before anything is pinned; {@code readBegin}, pin, insert the TIDs' notifiers
 * and program the TIDs, then {@code readRetry} under {@code cover_mutex}: a collision fails the
 * setup with {@code EBUSY} and unprograms it. A TID's callback clears its RcvArray entry and unpins
 * under the node's {@code invalidate_mutex} before telling user space. {@code freed} is guarded by
 * {@code invalidate_mutex}.
 *
 * <p>Where this port differs from the kernel, both on purpose:
 *
 * <ul>
 *   <li>The kernel's callbacks act on {@code MMU_NOTIFY_UNMAP} only; these act on every event. A
 *       TID left on a frame {@code MADV_DONTNEED} or a COW break took from the address would serve
 *       the next packet from a stale entry, and one left writable after {@code mprotect(PROT_READ)}
 *       lets the chip write a page the process made read-only.
 *   <li>Before the cover's {@code readRetry}, the setup waits ({@code readBegin}) until each TID's
 *       notifier is live. A notifier inserted while an invalidation window is open is only queued,
 *       and an invalidation that joins that window misses it; only the cover sees that one, so its
 *       {@code readRetry} must come after.
 * </ul>
 */
final class Hfi1ExpRcvConsolidated extends Hfi1ExpRcv {
  private int covers; // names only; read and written under PSM's lock, which serializes setups

  Hfi1ExpRcvConsolidated(
      SyncRuntime rt,
      AddressSpace mm,
      Hfi1Hw hw,
      Hfi1TidArray array,
      DriverStats stats,
      String id) {
    super(rt, mm, hw, array, stats, id);
  }

  @Override
  List<Hfi1TidNode> setUp(long va, int pages) throws ErrnoException {
    String coverName = "cover#" + ++covers;
    Mutex coverMutex = rt.newMutex(id + "." + coverName + ".cover_mutex");
    MmuIntervalNotifier cover =
        mm.insertIntervalNotifier(
            va,
            pages * PAGE,
            (sub, range, seq) -> coverInvalidate(coverName, coverMutex, sub, range, seq),
            coverMutex);
    hw.subscribed(coverName, va, va + pages * PAGE);
    List<Hfi1TidNode> got = new ArrayList<>();
    try {
      long seq = cover.readBegin();
      long[] pfns = pinAll(va, pages);
      for (int p = 0; p < pages; p++) {
        Hfi1TidNode n;
        try {
          n = reserve(va + p * PAGE, pfns[p], true);
        } catch (ErrnoException e) {
          for (int q = p + 1; q < pages; q++) {
            unpin(pfns[q]);
          }
          throw e;
        }
        got.add(n);
        n.notifier =
            mm.insertIntervalNotifier(n.addr, PAGE, (sub, range, s) -> invalidate(n, range, s));
        hw.subscribed(n.name, n.addr, n.addr + PAGE);
        invalidateMutex(n).lock();
        try {
          if (!n.freed) { // else its callback ran already: the cover saw it too
            program(n, true);
          }
        } finally {
          invalidateMutex(n).unlock();
        }
      }
      for (Hfi1TidNode n : got) {
        Objects.requireNonNull(n.notifier, n.name)
            .readBegin(); // returns once the notifier is in the tree
      }
      boolean collided;
      coverMutex.lock();
      try {
        collided = cover.readRetry(seq);
      } finally {
        coverMutex.unlock();
      }
      if (collided) {
        stats.retry();
        throw new ErrnoException(
            Errno.EBUSY, id + ": the buffer at 0x" + Long.toHexString(va) + " was invalidated");
      }
      publish(got);
      return got;
    } catch (ErrnoException e) {
      discard(got);
      throw e;
    } finally {
      cover.remove();
      hw.unsubscribed(coverName);
    }
  }

  private long[] pinAll(long va, int pages) throws ErrnoException {
    long[] pfns = new long[pages];
    for (int p = 0; p < pages; p++) {
      try {
        pfns[p] = pin(va + p * PAGE);
      } catch (ErrnoException e) {
        for (int q = 0; q < p; q++) {
          unpin(pfns[q]);
        }
        throw e;
      }
    }
    return pfns;
  }

  /** {@code tid_cover_invalidate}: bumps the cover's sequence under {@code cover_mutex}. */
  private boolean coverInvalidate(
      String name, Mutex coverMutex, MmuIntervalNotifier sub, MmuNotifierRange range, long seq) {
    hw.callbackEntered(name, range.start(), range.end());
    stats.invalidation();
    if (range.blockable()) {
      coverMutex.lock();
    } else if (!coverMutex.tryLock()) {
      stats.refused();
      return false;
    }
    try {
      sub.setSeq(seq);
    } finally {
      coverMutex.unlock();
    }
    hw.callbackReturned(name, range.start(), range.end(), seq);
    return true;
  }

  /**
   * {@code tid_rb_invalidate} after 2023: clears the RcvArray entry (waiting for packets landing
   * through it) and unpins, then tells user space.
   */
  private boolean invalidate(Hfi1TidNode n, MmuNotifierRange range, long seq) {
    hw.callbackEntered(n.name, range.start(), range.end());
    stats.invalidation();
    if (range.blockable()) {
      invalidateMutex(n).lock();
    } else if (!invalidateMutex(n).tryLock()) {
      stats.refused();
      return false;
    }
    boolean cleared;
    try {
      cleared = !n.freed;
      if (cleared) {
        clearLocked(n);
      }
    } finally {
      invalidateMutex(n).unlock();
    }
    if (cleared) {
      report(n, false);
    }
    hw.callbackReturned(n.name, range.start(), range.end(), seq);
    return true;
  }

  private void clearLocked(Hfi1TidNode n) {
    array.clear(n.tid);
    unpin(n.pfn);
    n.freed = true;
  }

  @Override
  void unprogram(Hfi1TidNode node) {
    if (node.notifier != null) {
      node.notifier.remove(); // waits for a running callback
      hw.unsubscribed(node.name);
    }
    invalidateMutex(node).lock();
    try {
      if (!node.freed) {
        clearLocked(node);
      }
    } finally {
      invalidateMutex(node).unlock();
    }
  }

  @Override
  void unsubscribe() {}

  /** This variant creates every node with its invalidate mutex. */
  private static Mutex invalidateMutex(Hfi1TidNode n) {
    return Objects.requireNonNull(n.invalidateMutex, n.name);
  }
}
