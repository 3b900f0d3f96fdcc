package io.mmulab.bench;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.core.IntervalTree;
import io.mmulab.core.MmStruct;
import io.mmulab.core.sync.RealSyncRuntime;
import java.util.ArrayList;
import java.util.List;

/**
 * The three ways of delivering an invalidation to {@code D} drivers that {@link DispatchBenchmark}
 * compares, each built from the same {@link DispatchLayout} on its own {@link MmStruct} with the
 * real runtime.
 *
 * <ul>
 *   <li>{@link Consolidated}: the core. Every range is an interval subscription of one address
 *       space; the core finds the intersecting ones in its single tree and calls their callback,
 *       which does the minimal driver work: take the driver's update lock, {@code setSeq}, unlock.
 *   <li>{@link LegacyList}: each driver registers one classic notifier, which every invalidation
 *       reaches; it takes the driver lock and searches a linear list of the driver's ranges,
 *       bumping the sequence of each range it hits (the pre-5.5 HMM pattern).
 *   <li>{@link LegacyTrees}: the same, but each driver keeps its own interval tree ({@link
 *       IntervalTree}) of its ranges (the pre-5.5 amdgpu/radeon/i915 pattern).
 * </ul>
 *
 * <p>The legacy drivers hold their lock from start to end, the cheapest correct legacy scheme (one
 * lock pair per driver per invalidation; the alternatives count active invalidations under the lock
 * in both start and end). The per-hit work is the same in all three: one sequence write under the
 * driver lock.
 */
public final class DispatchShapes {
  private DispatchShapes() {}

  /** One shape: an address space whose invalidations reach the layout's drivers. */
  public interface Shape {
    /**
     * Runs invalidation {@code k} of the layout (masked to the sequence length): start, then end.
     */
    void invalidate(int k);

    /** Returns how many ranges all drivers together were told about so far. */
    long hits();

    /** Returns the address space. */
    MmStruct mm();
  }

  private static MmuNotifierRange[] ranges(MmStruct mm, DispatchLayout layout) {
    MmuNotifierRange[] r = new MmuNotifierRange[DispatchLayout.INVALIDATIONS];
    for (int k = 0; k < r.length; k++) {
      r[k] = MmuNotifierRange.of(mm, MmuNotifierEvent.CLEAR, layout.invStart[k], layout.invEnd[k]);
    }
    return r;
  }

  // -----------------------------------------------------------------------------------------------
  // The core

  /** A driver of the consolidated shape: its update lock and its callback. */
  static final class CoreDriver implements MmuIntervalNotifierOps {
    final Mutex lock;
    long hits;

    CoreDriver(int id) {
      lock = RealSyncRuntime.get().newMutex("driver" + id + ".update");
    }

    @Override
    public boolean invalidate(MmuIntervalNotifier sub, MmuNotifierRange range, long curSeq) {
      lock.lock();
      sub.setSeq(curSeq);
      hits++;
      lock.unlock();
      return true;
    }
  }

  /** The core: all subscriptions in one address space's tree. */
  public static final class Consolidated implements Shape {
    private final MmStruct mm;
    private final CoreDriver[] drivers;
    private final MmuIntervalNotifier[] subs;
    private final MmuNotifierRange[] ranges;

    /**
     * Subscribes every range of the layout.
     *
     * @param layout the layout
     */
    public Consolidated(DispatchLayout layout) {
      mm = new MmStruct(RealSyncRuntime.get());
      drivers = new CoreDriver[layout.drivers];
      for (int d = 0; d < drivers.length; d++) {
        drivers[d] = new CoreDriver(d);
      }
      subs = new MmuIntervalNotifier[layout.n];
      try {
        for (int i = 0; i < layout.n; i++) {
          CoreDriver d = drivers[layout.driver[i]];
          subs[i] = mm.insertIntervalNotifier(layout.start[i], layout.length[i], d, d.lock);
        }
      } catch (ErrnoException e) {
        throw new IllegalStateException(e);
      }
      ranges = ranges(mm, layout);
    }

    @Override
    public void invalidate(int k) {
      MmuNotifierRange r = ranges[k & (DispatchLayout.INVALIDATIONS - 1)];
      mm.invalidateRangeStart(r);
      mm.invalidateRangeEnd(r);
    }

    @Override
    public long hits() {
      long h = 0;
      for (CoreDriver d : drivers) {
        h += d.hits;
      }
      return h;
    }

    @Override
    public MmStruct mm() {
      return mm;
    }

    /** Returns the drivers' callbacks, for footprint measurements. */
    Object[] drivers() {
      return drivers.clone();
    }

    /** Removes every subscription. */
    public void removeAll() {
      for (MmuIntervalNotifier s : subs) {
        s.remove();
      }
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Legacy: a classic notifier per driver

  /** A range as a legacy driver keeps it. */
  static final class ListRange {
    final long start;
    final long last;
    long seq;

    ListRange(long start, long last) {
      this.start = start;
      this.last = last;
    }
  }

  /** A legacy driver searching a linear list of its ranges on every invalidation. */
  static final class ListDriver implements MmuNotifier {
    final Mutex lock;
    final ListRange[] ranges;
    long hits;

    ListDriver(int id, List<ListRange> ranges) {
      this.lock = RealSyncRuntime.get().newMutex("legacy-list" + id + ".lock");
      this.ranges = ranges.toArray(new ListRange[0]);
    }

    @Override
    public boolean invalidateRangeStart(MmuNotifierRange range) {
      long qs = range.start();
      long ql = range.last();
      lock.lock();
      for (ListRange r : ranges) {
        if (Long.compareUnsigned(r.start, ql) <= 0 && Long.compareUnsigned(qs, r.last) <= 0) {
          r.seq++;
          hits++;
        }
      }
      return true;
    }

    @Override
    public void invalidateRangeEnd(MmuNotifierRange range) {
      lock.unlock();
    }
  }

  /** A legacy node: the driver's range in its own tree. */
  static final class TreeRange extends IntervalTree.Node {
    long seq;

    TreeRange(long start, long last) {
      setInterval(start, last);
    }
  }

  /** A legacy driver searching its own interval tree on every invalidation. */
  static final class TreeDriver implements MmuNotifier {
    final Mutex lock;
    final IntervalTree<TreeRange> tree = new IntervalTree<>();
    long hits;

    TreeDriver(int id) {
      this.lock = RealSyncRuntime.get().newMutex("legacy-tree" + id + ".lock");
    }

    @Override
    public boolean invalidateRangeStart(MmuNotifierRange range) {
      long qs = range.start();
      long ql = range.last();
      lock.lock();
      for (TreeRange r = tree.iterFirst(qs, ql); r != null; r = tree.iterNext(r, qs, ql)) {
        r.seq++;
        hits++;
      }
      return true;
    }

    @Override
    public void invalidateRangeEnd(MmuNotifierRange range) {
      lock.unlock();
    }
  }

  /** Legacy shape (a): every driver's classic notifier scans a list. */
  public static final class LegacyList implements Shape {
    private final MmStruct mm;
    private final ListDriver[] drivers;
    private final MmuNotifierRange[] ranges;

    /**
     * Registers one classic notifier per driver over the layout's ranges.
     *
     * @param layout the layout
     */
    public LegacyList(DispatchLayout layout) {
      mm = new MmStruct(RealSyncRuntime.get());
      List<List<ListRange>> perDriver = new ArrayList<>();
      for (int d = 0; d < layout.drivers; d++) {
        perDriver.add(new ArrayList<>());
      }
      for (int i = 0; i < layout.n; i++) {
        perDriver
            .get(layout.driver[i])
            .add(new ListRange(layout.start[i], layout.start[i] + layout.length[i] - 1));
      }
      drivers = new ListDriver[layout.drivers];
      for (int d = 0; d < drivers.length; d++) {
        drivers[d] = new ListDriver(d, perDriver.get(d));
      }
      register(mm, drivers);
      ranges = ranges(mm, layout);
    }

    @Override
    public void invalidate(int k) {
      MmuNotifierRange r = ranges[k & (DispatchLayout.INVALIDATIONS - 1)];
      mm.invalidateRangeStart(r);
      mm.invalidateRangeEnd(r);
    }

    @Override
    public long hits() {
      long h = 0;
      for (ListDriver d : drivers) {
        h += d.hits;
      }
      return h;
    }

    @Override
    public MmStruct mm() {
      return mm;
    }
  }

  /** Legacy shape (b): every driver's classic notifier searches its own tree. */
  public static final class LegacyTrees implements Shape {
    private final MmStruct mm;
    private final TreeDriver[] drivers;
    private final MmuNotifierRange[] ranges;

    /**
     * Registers one classic notifier per driver, each with a tree of its ranges.
     *
     * @param layout the layout
     */
    public LegacyTrees(DispatchLayout layout) {
      mm = new MmStruct(RealSyncRuntime.get());
      drivers = new TreeDriver[layout.drivers];
      for (int d = 0; d < drivers.length; d++) {
        drivers[d] = new TreeDriver(d);
      }
      for (int i = 0; i < layout.n; i++) {
        drivers[layout.driver[i]].tree.insert(
            new TreeRange(layout.start[i], layout.start[i] + layout.length[i] - 1));
      }
      register(mm, drivers);
      ranges = ranges(mm, layout);
    }

    @Override
    public void invalidate(int k) {
      MmuNotifierRange r = ranges[k & (DispatchLayout.INVALIDATIONS - 1)];
      mm.invalidateRangeStart(r);
      mm.invalidateRangeEnd(r);
    }

    @Override
    public long hits() {
      long h = 0;
      for (TreeDriver d : drivers) {
        h += d.hits;
      }
      return h;
    }

    @Override
    public MmStruct mm() {
      return mm;
    }
  }

  private static void register(MmStruct mm, MmuNotifier[] notifiers) {
    try {
      for (MmuNotifier n : notifiers) {
        mm.registerNotifier(n);
      }
    } catch (ErrnoException e) {
      throw new IllegalStateException(e);
    }
  }
}
