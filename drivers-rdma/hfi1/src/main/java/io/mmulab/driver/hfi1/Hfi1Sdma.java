package io.mmulab.driver.hfi1;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.hfi.SdmaDescriptor;
import io.mmulab.sim.hfi.SdmaEngine;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * {@code user_sdma}'s pinned-page cache: a send looks its pages up in an {@link Hfi1MmuRb} handler,
 * pins and inserts a node on a miss, and posts one descriptor per page holding a node reference
 * until the engine completes it. Unreferenced nodes beyond {@link #CACHE_LIMIT} are evicted, least
 * recently used first. The kernel never moved this cache to an interval notifier.
 *
 * <p>Two generations of the cache ops:
 *
 * <ul>
 *   <li>old (legacy, as merged): invalidate unlinks a node only if no descriptor holds it; a node
 *       in use survives, still pointing at the old frame, until eviction;
 *   <li>kref rework (consolidated, 2023): invalidate always unlinks the node; the last completion
 *       releases it. Ours also samples the handler's sequence before pinning and refuses to insert
 *       a node if an invalidation started meanwhile or is still running — the kernel has no such
 *       check (see MIGRATION.md).
 * </ul>
 *
 * <p>Locking: the handler's spin lock guards every node field and the LRU clock; pins are dropped
 * outside it. Completions run on the engine's thread and take the handler's lock.
 */
final class Hfi1Sdma implements Hfi1MmuRb.Ops<Hfi1SdmaNode> {
  /** Unreferenced nodes kept before the least recently used are evicted. */
  static final int CACHE_LIMIT = 8;

  private static final long PAGE = AddressSpace.PAGE_SIZE;
  private static final int MAX_ROUNDS = 16;

  private final SyncRuntime rt;
  private final AddressSpace mm;
  private final Hfi1Hw hw;
  private final SdmaEngine engine;
  private final DriverStats stats;
  private final boolean kref;
  private final Hfi1MmuRb<Hfi1SdmaNode> handler;
  private long clock; // guarded by the handler's lock

  Hfi1Sdma(
      SyncRuntime rt,
      AddressSpace mm,
      Hfi1Hw hw,
      SdmaEngine engine,
      DriverStats stats,
      String id,
      boolean kref)
      throws ErrnoException {
    this.rt = rt;
    this.mm = mm;
    this.hw = hw;
    this.engine = engine;
    this.stats = stats;
    this.kref = kref;
    this.handler = new Hfi1MmuRb<>(rt, id + ".sdma_rb", hw, stats, this);
    handler.register(mm);
  }

  /**
   * Sends {@code words} words from {@code va}: posts a descriptor per page, waits for the engine to
   * complete them and returns the words it sent.
   */
  long[] send(long va, int words) throws ErrnoException {
    List<SdmaDescriptor> ds = post(va, words);
    long[] out = new long[words];
    int i = 0;
    for (SdmaDescriptor d : ds) {
      engine.await(d);
      long[] part = d.payload();
      System.arraycopy(part, 0, out, i, part.length);
      i += part.length;
    }
    return out;
  }

  /**
   * Posts the descriptors of a send without waiting; on a failure the ones posted already still
   * complete.
   */
  List<SdmaDescriptor> post(long va, int words) throws ErrnoException {
    List<SdmaDescriptor> ds = new ArrayList<>();
    try {
      for (int i = 0; i < words; ) {
        long addr = va + 8L * i;
        int n = Math.min(words - i, (int) ((PAGE - (addr & (PAGE - 1))) / 8));
        Acquired a = acquire(addr & -PAGE);
        SdmaDescriptor d = new SdmaDescriptor(addr, a.node.pfn, a.op, n, () -> put(a.node));
        engine.post(d);
        ds.add(d);
        i += n;
      }
      return ds;
    } catch (ErrnoException e) {
      ds.forEach(engine::await);
      throw e;
    }
  }

  /** Caches {@code page} ahead of a send (pins and inserts its node if missing). */
  void prime(long page) throws ErrnoException {
    put(acquire(page).node);
  }

  /** Unregisters the handler, lets the ring drain, and releases every node. */
  void close() {
    handler.unregister(mm);
    engine.shutdown();
    List<Hfi1SdmaNode> all;
    handler.lock().lock();
    try {
      all = handler.nodesLocked();
      all.forEach(this::unlinkLocked);
    } finally {
      handler.lock().unlock();
    }
    removed(all);
  }

  private record Acquired(Hfi1SdmaNode node, long op) {}

  /** A node for {@code page} with a reference taken, and the send's operation token. */
  private Acquired acquire(long page) throws ErrnoException {
    for (int round = 0; round < MAX_ROUNDS; round++) {
      if (kref) {
        handler.waitIdle(); // pinning now would only collide
      }
      long seq;
      handler.lock().lock();
      try {
        Hfi1SdmaNode n = handler.findLocked(page);
        if (n != null) {
          return takeLocked(n);
        }
        seq = handler.sampleLocked();
      } finally {
        handler.lock().unlock();
      }
      // LEGACY RACE (pin before insert, old ops): nothing connects this pin to the insert below,
      // so an invalidation in between is missed and the node caches a frame no longer mapped.
      long pfn = hw.pin(page, false);
      stats.pinned(1);
      rt.yieldPoint(handler.name() + ": page pinned, before the insert check");
      Hfi1SdmaNode n = new Hfi1SdmaNode(page, pfn);
      List<Hfi1SdmaNode> evicted = new ArrayList<>();
      boolean collided = false;
      handler.lock().lock();
      try {
        collided = kref && handler.collidedLocked(seq);
        if (!collided && handler.insertLocked(n)) {
          n.linked = true;
          hw.mapped(handler.name(), page, pfn);
          stats.fault();
          Acquired a = takeLocked(n);
          evictLocked(evicted);
          return a;
        }
      } finally {
        handler.lock().unlock();
        removed(evicted);
      }
      if (collided) {
        stats.retry();
      }
      n.released = true;
      hw.unpin(pfn); // collided, or another send inserted the page meanwhile (-EEXIST)
      stats.unpinned(1);
    }
    throw new ErrnoException(
        Errno.EBUSY, handler.name() + ": no stable node for 0x" + Long.toHexString(page));
  }

  private Acquired takeLocked(Hfi1SdmaNode n) {
    n.refs++;
    n.lastUse = ++clock;
    return new Acquired(n, hw.beginOperation());
  }

  /** A descriptor's completion: drops its reference; the last one releases an unlinked node. */
  private void put(Hfi1SdmaNode n) {
    boolean release;
    handler.lock().lock();
    try {
      n.refs--;
      release = n.refs == 0 && !n.linked && !n.released;
      n.released |= release;
    } finally {
      handler.lock().unlock();
    }
    if (release) {
      unpin(n);
    }
  }

  /** Evicts unreferenced nodes, least recently used first, down to {@link #CACHE_LIMIT}. */
  private void evictLocked(List<Hfi1SdmaNode> evicted) {
    List<Hfi1SdmaNode> idle = handler.nodesLocked();
    idle.removeIf(n -> n.refs > 0);
    idle.sort(Comparator.comparingLong(n -> n.lastUse));
    int excess = handler.nodesLocked().size() - CACHE_LIMIT;
    for (int i = 0; i < excess && i < idle.size(); i++) {
      Hfi1SdmaNode n = idle.get(i);
      unlinkLocked(n);
      evicted.add(n);
    }
  }

  private void unlinkLocked(Hfi1SdmaNode n) {
    handler.removeLocked(n);
    n.linked = false;
    hw.unmapped(n.addr);
  }

  /** The cache ops' invalidate, under the handler's lock. */
  @Override
  public boolean invalidate(Hfi1SdmaNode n, MmuNotifierRange range) {
    if (!kref && n.refs > 0) {
      // LEGACY RACE (in-use node): a node a descriptor still holds stays in the tree on its old
      // frame; once that send completes, the next send to the address finds it and transmits
      // the old data, until eviction happens to pick it.
      return false;
    }
    n.linked = false;
    hw.unmapped(n.addr);
    return true;
  }

  /** Releases the unlinked nodes no descriptor holds; the rest go at their last completion. */
  @Override
  public void removed(List<Hfi1SdmaNode> nodes) {
    for (Hfi1SdmaNode n : nodes) {
      boolean release;
      handler.lock().lock();
      try {
        release = n.refs == 0 && !n.released;
        n.released |= release;
      } finally {
        handler.lock().unlock();
      }
      if (release) {
        unpin(n);
      }
    }
  }

  private void unpin(Hfi1SdmaNode n) {
    hw.unpin(n.pfn);
    stats.unpinned(1);
  }
}
