package io.mmulab.driver.hfi1;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.sim.driver.DriverStats;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * {@code mmu_rb_handler}: the driver's own cache of user-address nodes behind one classic notifier,
 * the structure both hfi1 caches shared before 5.5 and the SDMA cache still uses (it was never
 * converted to an interval notifier). A private interval tree (here a map by address: nodes are
 * page-sized and never overlap) under a spin lock the kernel takes with interrupts disabled; {@code
 * invalidate_range_start} asks the cache's ops about each node in the range and unlinks the nodes
 * they give up, then hands them to the ops outside the lock (the kernel's work item, since
 * unpinning may sleep).
 *
 * <p>Not in the kernel: the handler also counts invalidations in progress and bumps a sequence at
 * each start ({@link #sampleLocked}, {@link #collidedLocked}, {@link #waitIdle}), which only the
 * consolidated SDMA cache reads, to close the window between pinning a page and inserting its node.
 *
 * <p>Locking: {@code lock} guards the tree, the sequence and the count (which {@link #waitIdle}
 * also reads without it), and every node field the ops say it does; nothing sleeps under it.
 *
 * @param <N> the cache's node type
 */
final class Hfi1MmuRb<N extends Hfi1MmuRb.Node> implements MmuNotifier {
  /** A cached range: one page at {@code addr}. */
  abstract static class Node {
    final long addr;

    Node(long addr) {
      this.addr = addr;
    }
  }

  /** The cache's ops ({@code mmu_rb_ops}). */
  interface Ops<N> {
    /** Under the lock: whether the invalidation of {@code range} unlinks {@code node}. */
    boolean invalidate(N node, MmuNotifierRange range);

    /** Outside the lock: the nodes an invalidation unlinked. */
    void removed(List<N> nodes);
  }

  private final String name;
  private final Hfi1Hw hw;
  private final DriverStats stats;
  private final Ops<N> ops;
  private final SpinLock lock;
  private final TreeMap<Long, N> tree = new TreeMap<>(); // guarded by lock
  private long seq; // guarded by lock
  private volatile int active; // written under lock
  private final WaitQueue idle;

  Hfi1MmuRb(SyncRuntime rt, String name, Hfi1Hw hw, DriverStats stats, Ops<N> ops) {
    this.name = name;
    this.hw = hw;
    this.stats = stats;
    this.ops = ops;
    this.lock = rt.newSpinLock(name + ".lock");
    this.idle = rt.newWaitQueue(name + ".idle");
  }

  /** {@code hfi1_mmu_rb_register}: one classic notifier on {@code mm}. */
  void register(AddressSpace mm) throws ErrnoException {
    mm.registerNotifier(this);
    hw.subscribed(name, 0, -1);
  }

  /** {@code hfi1_mmu_rb_unregister}: no callback runs once this returns. */
  void unregister(AddressSpace mm) {
    mm.unregisterNotifier(this);
    hw.unsubscribed(name);
  }

  String name() {
    return name;
  }

  SpinLock lock() {
    return lock;
  }

  @Nullable N findLocked(long addr) {
    return tree.get(addr);
  }

  /** Links {@code node}; false ({@code -EEXIST}) if a node has its address already. */
  boolean insertLocked(N node) {
    return tree.putIfAbsent(node.addr, node) == null;
  }

  /** Unlinks {@code node}; false if it was not linked. */
  boolean removeLocked(N node) {
    return tree.remove(node.addr, node);
  }

  List<N> nodesLocked() {
    return new ArrayList<>(tree.values());
  }

  /** A sample for {@link #collidedLocked}; one taken while an invalidation runs always collides. */
  long sampleLocked() {
    return active > 0 ? -1 : seq;
  }

  /** Whether an invalidation ran or started since {@code sampled} was taken, or is running. */
  boolean collidedLocked(long sampled) {
    return active > 0 || seq != sampled;
  }

  @Override
  public boolean invalidateRangeStart(MmuNotifierRange range) {
    hw.callbackEntered(name, range.start(), range.end());
    stats.invalidation();
    List<N> gone = new ArrayList<>();
    lock.lock();
    try {
      active++;
      seq++;
      for (var it = tree.values().iterator(); it.hasNext(); ) {
        N n = it.next();
        if (intersects(n, range) && ops.invalidate(n, range)) {
          it.remove();
          gone.add(n);
        }
      }
    } finally {
      lock.unlock();
    }
    ops.removed(gone);
    hw.callbackReturned(name, range.start(), range.end(), 0);
    return true;
  }

  @Override
  public void invalidateRangeEnd(MmuNotifierRange range) {
    boolean last;
    lock.lock();
    try {
      last = --active == 0;
    } finally {
      lock.unlock();
    }
    if (last) {
      idle.wakeUpAll();
    }
  }

  /** Sleeps until no invalidation runs; never with the lock held. */
  void waitIdle() {
    idle.waitEvent(() -> active == 0);
  }

  private static boolean intersects(Node n, MmuNotifierRange range) {
    return Long.compareUnsigned(n.addr, range.end()) < 0
        && Long.compareUnsigned(n.addr + AddressSpace.PAGE_SIZE, range.start()) > 0;
  }

  @Override
  public String toString() {
    return name;
  }
}
