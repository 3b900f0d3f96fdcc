package io.mmulab.driver.hfi1;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.hfi.HfiUserContext;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * {@code user_exp_rcv}: the expected-receive ioctls of one context, common to the three variants —
 * the TID table, the {@code invalid_tids} list and the event bit user space polls. A variant
 * decides how a buffer is pinned and programmed ({@link #setUp}), how an invalidation reaches a
 * TID, and how a TID is unprogrammed ({@link #unprogram}).
 *
 * <p>Locking: {@code tidLock} ({@code fd->tid_lock}) guards the TID table and is never held while
 * waiting for an invalidation; {@code invalidLock} ({@code fd->invalid_lock}, a spin lock) guards
 * {@code invalid_tids} and the event bit and may be taken inside callbacks and inside the mmu_rb
 * handler's lock.
 */
abstract class Hfi1ExpRcv implements HfiUserContext {
  static final long PAGE = AddressSpace.PAGE_SIZE;

  final SyncRuntime rt;
  final AddressSpace mm;
  final Hfi1Hw hw;
  final Hfi1TidArray array;
  final DriverStats stats;
  final String id;
  private final Mutex tidLock;
  private final SpinLock invalidLock;
  private final BitSet used = new BitSet(); // guarded by tidLock
  private final Map<Integer, Hfi1TidNode> nodes = new HashMap<>(); // guarded by tidLock
  private final List<Integer> invalidTids = new ArrayList<>(); // guarded by invalidLock
  private boolean event; // guarded by invalidLock
  private int serial; // guarded by tidLock
  private boolean closed; // guarded by tidLock

  Hfi1ExpRcv(
      SyncRuntime rt,
      AddressSpace mm,
      Hfi1Hw hw,
      Hfi1TidArray array,
      DriverStats stats,
      String id) {
    this.rt = rt;
    this.mm = mm;
    this.hw = hw;
    this.array = array;
    this.stats = stats;
    this.id = id;
    this.tidLock = rt.newMutex(id + ".tid_lock");
    this.invalidLock = rt.newSpinLock(id + ".invalid_lock");
  }

  /** Pins {@code [va, va + pages)} and programs one TID per page; the variant's whole setup. */
  abstract List<Hfi1TidNode> setUp(long va, int pages) throws ErrnoException;

  /** Unprograms a node taken out of the TID table: RcvArray entry, pin, notifier. */
  abstract void unprogram(Hfi1TidNode node);

  /** Drops what the variant subscribed at open; no callback runs afterwards. */
  abstract void unsubscribe();

  @Override
  public final int[] tidUpdate(long va, int pages) throws ErrnoException {
    if ((va & (PAGE - 1)) != 0 || pages < 1 || pages > array.size()) {
      throw new IllegalArgumentException(
          id + ": TID_UPDATE of " + pages + " pages at 0x" + Long.toHexString(va));
    }
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, id + ": the process is gone");
    }
    List<Hfi1TidNode> got;
    try {
      got = setUp(va, pages);
    } finally {
      mm.mmput();
    }
    stats.fault();
    return got.stream().mapToInt(n -> n.tid).toArray();
  }

  @Override
  public final void tidFree(int[] tids) {
    for (int tid : tids) {
      Hfi1TidNode n = take(tid);
      if (n != null) {
        unprogram(n);
        invalidLock.lock();
        try {
          // A TID number freed here may be handed out again: never report the old buffer's.
          invalidTids.remove(Integer.valueOf(tid));
        } finally {
          invalidLock.unlock();
        }
        release(tid);
      }
    }
  }

  @Override
  public final boolean tidInvalPending() {
    invalidLock.lock();
    try {
      return event;
    } finally {
      invalidLock.unlock();
    }
  }

  @Override
  public final int[] tidInvalRead() {
    invalidLock.lock();
    try {
      int[] out = invalidTids.stream().mapToInt(Integer::intValue).toArray();
      invalidTids.clear();
      event = false;
      return out;
    } finally {
      invalidLock.unlock();
    }
  }

  /** Closes the context: unsubscribes, then unprograms every TID still programmed. Idempotent. */
  final void close() {
    List<Hfi1TidNode> all;
    tidLock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      all = new ArrayList<>(nodes.values());
      nodes.clear();
    } finally {
      tidLock.unlock();
    }
    unsubscribe();
    for (Hfi1TidNode n : all) {
      unprogram(n);
    }
  }

  /** Pins one page writable for the chip, counting it. */
  final long pin(long va) throws ErrnoException {
    long pfn = hw.pin(va, true);
    stats.pinned(1);
    return pfn;
  }

  final void unpin(long pfn) {
    hw.unpin(pfn);
    stats.unpinned(1);
  }

  /**
   * Takes a free TID for the page {@code va} and its pinned frame; {@link #program} writes it. On a
   * failure the pin is dropped.
   *
   * @param invalidateMutex whether the node gets an {@code invalidate_mutex}
   * @throws ErrnoException {@code ENOMEM} if every TID is in use, {@code EINVAL} once closed
   */
  final Hfi1TidNode reserve(long va, long pfn, boolean invalidateMutex) throws ErrnoException {
    int tid;
    String name;
    tidLock.lock();
    try {
      ErrnoException failed = null;
      tid = used.nextClearBit(0);
      if (closed) {
        failed = new ErrnoException(Errno.EINVAL, id + " is closed");
      } else if (tid >= array.size()) {
        failed = new ErrnoException(Errno.ENOMEM, id + ": all " + array.size() + " TIDs in use");
      }
      if (failed != null) {
        unpin(pfn);
        throw failed;
      }
      used.set(tid);
      name = "tid" + tid + "#" + ++serial;
    } finally {
      tidLock.unlock();
    }
    return new Hfi1TidNode(
        tid,
        va,
        pfn,
        name,
        invalidateMutex ? rt.newMutex(id + "." + name + ".invalidate_mutex") : null);
  }

  /**
   * {@code hfi1_put_tid}: writes the node's RcvArray entry.
   *
   * @param perTidNotifier whether the entry is protected by the node's own notifier only
   */
  final void program(Hfi1TidNode n, boolean perTidNotifier) {
    array.program(n.tid, n.addr, n.pfn, perTidNotifier ? n.name : null);
  }

  /** Publishes programmed nodes in the TID table, for TID_FREE to find. */
  final void publish(List<Hfi1TidNode> got) throws ErrnoException {
    tidLock.lock();
    try {
      if (!closed) {
        got.forEach(n -> nodes.put(n.tid, n));
        return;
      }
    } finally {
      tidLock.unlock();
    }
    discard(got);
    throw new ErrnoException(Errno.EINVAL, id + " closed during TID_UPDATE");
  }

  /** Unprograms reserved nodes that never reached the TID table and gives their TIDs back. */
  final void discard(List<Hfi1TidNode> got) {
    for (Hfi1TidNode n : got) {
      unprogram(n);
      release(n.tid);
    }
  }

  /**
   * Tells user space: queues the node's TID on {@code invalid_tids} and raises the event bit,
   * unless an invalidation already did (legacy and as merged mark the node freed here).
   *
   * @return whether this call reported it
   */
  final boolean report(Hfi1TidNode n, boolean markFreed) {
    invalidLock.lock();
    try {
      if (markFreed) {
        if (n.freed) {
          return false;
        }
        n.freed = true;
      }
      invalidTids.add(n.tid);
      event = true;
      return true;
    } finally {
      invalidLock.unlock();
    }
  }

  private @Nullable Hfi1TidNode take(int tid) {
    tidLock.lock();
    try {
      return nodes.remove(tid);
    } finally {
      tidLock.unlock();
    }
  }

  private void release(int tid) {
    tidLock.lock();
    try {
      used.clear(tid);
    } finally {
      tidLock.unlock();
    }
  }
}
