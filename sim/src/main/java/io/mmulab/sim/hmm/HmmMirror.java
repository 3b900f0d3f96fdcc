package io.mmulab.sim.hmm;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.NonblockRefusal;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.core.MmStruct;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The pre-5.5 hmm core ({@code mm/hmm.c} of v5.2–v5.4) for one mirror: the facility the legacy
 * ports of dmirror and nouveau are built on, kept with the blind spot the 5.5 series removed.
 *
 * <p>It is one classic notifier on the address space. Its start counts the open invalidation
 * ({@code hmm->notifiers}), clears the {@code valid} flag of every registered range the
 * invalidation overlaps, then calls the driver's {@link Ops#syncCpuDevicePagetables}; its end, when
 * the count drops to zero, sets <em>every</em> range valid again and wakes the waiters. A driver
 * registers a {@link Range} over its lookup window ({@code hmm_range_register}), waits until it is
 * valid ({@code hmm_range_wait_until_valid}), looks the pages up (a walk naming the range fails
 * with {@code EBUSY} while it is invalid), takes its own lock and checks {@link Range#valid()}
 * ({@code hmm_range_valid}) before programming the device.
 *
 * <p>The blind spot: the flag says only that no invalidation is open <em>now</em>. An invalidation
 * that opened and closed after the lookup leaves the range valid, and the driver programs a frame
 * the CPU no longer maps. The 5.5 interval notifier replaces the flag with a sequence count.
 *
 * <p>Locking: {@code ranges_lock} (a spin lock, named {@code <name>.hmm.ranges_lock}) guards the
 * count and the range list; a driver may take it under its own lock, never the reverse. {@code
 * valid} is read without it (volatile), as {@code hmm_range_valid} did.
 */
public final class HmmMirror implements MmuNotifier {
  /** What the driver provides: kernel {@code struct hmm_mirror_ops}. */
  public interface Ops {
    /**
     * Tears the device mappings of {@code range} down (kernel {@code sync_cpu_device_pagetables}).
     *
     * @param range the invalidation, its ranges already marked invalid
     * @return false ({@code -EAGAIN}) only for a non-blockable range; no end then follows
     */
    boolean syncCpuDevicePagetables(MmuNotifierRange range);

    /**
     * The address space is going away (kernel {@code release}): tear every mapping down.
     *
     * @param mm the address space
     */
    void release(AddressSpace mm);
  }

  private final String name;
  private final SyncRuntime rt;
  private final AddressSpace mm;
  private final Ops ops;
  private final SpinLock rangesLock;
  private final WaitQueue wq;
  private final List<Range> ranges = new ArrayList<>(); // guarded by rangesLock
  private int notifiers; // guarded by rangesLock

  /**
   * A mirror, not yet registered.
   *
   * @param rt the runtime its lock and wait queue come from
   * @param mm the address space mirrored
   * @param name the prefix of its lock names and error messages (the device's id)
   * @param ops the driver's callbacks
   */
  public HmmMirror(SyncRuntime rt, AddressSpace mm, String name, Ops ops) {
    this.rt = Objects.requireNonNull(rt, "rt is null");
    this.mm = Objects.requireNonNull(mm, "mm is null");
    this.name = Objects.requireNonNull(name, "name is null");
    this.ops = Objects.requireNonNull(ops, "ops is null");
    this.rangesLock = rt.newSpinLock(name + ".hmm.ranges_lock");
    this.wq = rt.newWaitQueue(name + ".hmm.wq");
  }

  /**
   * Kernel {@code hmm_mirror_register}: hooks the mirror's notifier into the address space, which
   * from then on follows {@link NonblockRefusal#LINUX_5_5} (the rule this core was written for).
   *
   * @throws ErrnoException as {@link AddressSpace#registerNotifier}
   */
  public void register() throws ErrnoException {
    // The pre-5.5 hmm core relies on 5.5's refusal rule (no end follows a refused start; it
    // closes its own count), so the address space it is hooked into follows that rule.
    if (mm instanceof MmStruct m) {
      m.setNonblockRefusal(NonblockRefusal.LINUX_5_5);
    }
    mm.registerNotifier(this);
  }

  /**
   * Kernel {@code hmm_mirror_unregister}: unhooks it, calling {@link Ops#release} first unless the
   * address space was already released; no callback runs after it returns.
   */
  public void unregister() {
    mm.unregisterNotifier(this);
  }

  /** Part of the mirror's notifier; drivers do not call it. */
  @Override
  public boolean invalidateRangeStart(MmuNotifierRange range) {
    rangesLock.lock();
    try {
      notifiers++;
      for (Range r : ranges) {
        if (range.intersects(r.start, r.end - 1)) {
          r.valid = false;
        }
      }
    } finally {
      rangesLock.unlock();
    }
    if (!ops.syncCpuDevicePagetables(range)) {
      notifiersDecrement(); // no end follows a refused start
      return false;
    }
    return true;
  }

  /** Part of the mirror's notifier; drivers do not call it. */
  @Override
  public void invalidateRangeEnd(MmuNotifierRange range) {
    notifiersDecrement();
  }

  /** Part of the mirror's notifier; drivers do not call it. */
  @Override
  public void release(AddressSpace as) {
    ops.release(as);
  }

  // LEGACY RACE (the blind spot): the last end makes every range valid, including ranges whose
  // lookup ran inside the window that just closed.
  private void notifiersDecrement() {
    rangesLock.lock();
    try {
      notifiers--;
      if (notifiers == 0) {
        for (Range r : ranges) {
          r.valid = true;
        }
      }
    } finally {
      rangesLock.unlock();
    }
    wq.wakeUpAll();
  }

  /**
   * Kernel {@code hmm_range_register}: watches {@code [start, end)}; the range starts valid unless
   * an invalidation is open.
   *
   * @param start first address
   * @param end exclusive end, above {@code start}
   * @return the range, to be {@link Range#remove() removed} after use
   * @throws IllegalArgumentException if {@code end} is not above {@code start} (unsigned)
   */
  public Range registerRange(long start, long end) {
    if (Long.compareUnsigned(end, start) <= 0) {
      throw new IllegalArgumentException(
          "empty hmm range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ")");
    }
    Range r = new Range(start, end);
    rangesLock.lock();
    try {
      r.valid = notifiers == 0;
      ranges.add(r);
    } finally {
      rangesLock.unlock();
    }
    return r;
  }

  /**
   * Kernel {@code hmm_range_wait_until_valid}: sleeps until the range is valid or the deadline
   * passes. Like {@code wait_event_timeout}, a range valid when checked is success even past the
   * deadline.
   *
   * @param r a range of this mirror
   * @param deadlineNanos the deadline on the runtime's clock
   * @throws ErrnoException {@link Errno#EBUSY} if the range is still invalid at the deadline
   */
  public void waitUntilValid(Range r, long deadlineNanos) throws ErrnoException {
    long left = Math.max(0, deadlineNanos - rt.clock().nanoTime());
    if (!wq.waitEventTimeout(() -> r.valid, left)) {
      throw new ErrnoException(Errno.EBUSY, r + " did not become valid before the deadline");
    }
  }

  private void unregisterRange(Range r) {
    rangesLock.lock();
    try {
      ranges.remove(r);
    } finally {
      rangesLock.unlock();
    }
  }

  /**
   * One registered lookup range (kernel {@code struct hmm_range} of the {@code hmm_mirror} era). It
   * stands in for the subscription an {@link io.mmulab.api.hmm.HmmRange} names: the walk fails with
   * {@code EBUSY} while the range is invalid, as v5.4 {@code hmm_range_fault} did. It has no
   * sequence: {@link #readBegin} returns 0 and {@link #readRetry} tells whether it is invalid now.
   */
  public final class Range implements MmuIntervalNotifier {
    private final long start;
    private final long end;
    private volatile boolean valid;

    private Range(long start, long end) {
      this.start = start;
      this.end = end;
    }

    /**
     * Kernel {@code hmm_range_valid}: whether no invalidation of the range is open now.
     *
     * @return the flag
     */
    public boolean valid() {
      return valid;
    }

    @Override
    public AddressSpace addressSpace() {
      return mm;
    }

    @Override
    public long start() {
      return start;
    }

    @Override
    public long last() {
      return end - 1;
    }

    @Override
    public long readBegin() {
      return 0;
    }

    @Override
    public boolean readRetry(long seq) {
      return !valid;
    }

    @Override
    public boolean checkRetry(long seq) {
      return !valid;
    }

    /** Always throws: a legacy range has no sequence. */
    @Override
    public void setSeq(long curSeq) {
      throw new UnsupportedOperationException("a legacy hmm range has no sequence");
    }

    /** Kernel {@code hmm_range_unregister}. */
    @Override
    public void remove() {
      unregisterRange(this);
    }

    @Override
    public String toString() {
      return name
          + " hmm range [0x"
          + Long.toHexString(start)
          + ", 0x"
          + Long.toHexString(end)
          + ")"
          + (valid ? "" : " invalid");
    }
  }
}
