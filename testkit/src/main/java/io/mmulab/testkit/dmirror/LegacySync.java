package io.mmulab.testkit.dmirror;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayList;
import java.util.List;

/**
 * The same device on the pre-5.5 {@code hmm_mirror} pattern (kernel v5.2–v5.4 {@code mm/hmm.c} and
 * the driver recipe of that era's {@code hmm.rst}), kept with its race.
 *
 * <p>The "hmm core" part: one classic notifier per mirror that counts open invalidations ({@code
 * notifiers}) and keeps the list of registered lookup ranges. Its start clears the {@code valid}
 * flag of every overlapping range, then calls the mirror's {@code sync_cpu_device_pagetables} (here
 * {@link DmirrorMirror#invalidate}: mutex, erase, unlock); its end, when the count drops to zero,
 * sets every range valid again and wakes the waiters.
 *
 * <p>The driver part ({@link #retry}): register a range, wait until it is valid, look up (the walk
 * itself fails with {@code EBUSY} while the range is invalid), take the mutex, check the flag,
 * program, unregister. The flag says only whether an invalidation is open <em>now</em>; it does not
 * remember one that opened and closed after the lookup. See the {@code LEGACY RACE} comment.
 *
 * <p>Locking: {@code rangesLock} (a spin lock) guards {@code notifiers} and the range list; it is
 * taken under the mirror's mutex (unregister) but never the reverse. {@code valid} is read without
 * it (volatile), as the kernel's {@code hmm_range_valid} did.
 */
final class LegacySync extends MirrorSync implements MmuNotifier {
  /** The subscription's name in checker events. */
  static final String SUBSCRIPTION = "hmm_mirror";

  private final DmirrorMirror mirror;
  private final SpinLock rangesLock;
  private final WaitQueue wq;
  private final List<Range> ranges = new ArrayList<>();
  private int notifiers;

  LegacySync(DmirrorMirror mirror) {
    this.mirror = mirror;
    this.rangesLock = mirror.runtime().newSpinLock(mirror.id() + ".hmm.ranges_lock");
    this.wq = mirror.runtime().newWaitQueue(mirror.id() + ".hmm.wq");
  }

  @Override
  void open() throws ErrnoException {
    mirror.mm().registerNotifier(this);
    mirror
        .checker()
        .subscriptionInserted(
            mirror.id(), SUBSCRIPTION, mirror.mmName(), 0, MmuNotifierRange.ULONG_MAX);
  }

  @Override
  void close() {
    mirror.mm().unregisterNotifier(this); // calls release() first unless the mm was released
    mirror.checker().subscriptionRemoved(mirror.id(), SUBSCRIPTION);
  }

  // ---------------------------------------------------------------------------------------------
  // The hmm core's classic notifier

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
    if (!mirror.invalidate(SUBSCRIPTION, range, () -> {}, 0)) {
      notifiersDecrement(); // no end follows a refused non-blocking start
      return false;
    }
    return true;
  }

  @Override
  public void invalidateRangeEnd(MmuNotifierRange range) {
    notifiersDecrement();
  }

  @Override
  public void release(AddressSpace mm) {
    mirror.invalidate(SUBSCRIPTION, MmuNotifierRange.release(mm), () -> {}, 0);
  }

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

  private Range register(long start, long end) {
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

  private void unregister(Range r) {
    rangesLock.lock();
    try {
      ranges.remove(r);
    } finally {
      rangesLock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The driver's fault loop (hmm.rst, v5.4)

  @Override
  <T> T retry(long start, long end, boolean privateNotifier, Attempt<T> attempt)
      throws ErrnoException {
    // A registered range already watches exactly the lookup's window, so SNAPSHOT needs nothing
    // of its own here (privateNotifier is ignored).
    Range range = register(start, end);
    try {
      Clock clock = mirror.runtime().clock();
      long deadline = clock.nanoTime() + TIMEOUT_NANOS;
      Mutex mutex = mirror.mutex();
      while (true) {
        long left = deadline - clock.nanoTime();
        if (left < 0 || !wq.waitEventTimeout(() -> range.valid, left)) {
          throw new ErrnoException(
              Errno.EBUSY,
              mirror.id()
                  + ": range [0x"
                  + Long.toHexString(start)
                  + ", 0x"
                  + Long.toHexString(end)
                  + ") did not become valid within 1000 ms");
        }
        T found;
        try {
          found = attempt.lookup(range, 0);
        } catch (ErrnoException e) {
          if (e.errno() == Errno.EBUSY) {
            continue;
          }
          throw e;
        }
        mirror.afterLookup();
        mutex.lock();
        try {
          // LEGACY RACE: the flag only says that no invalidation is open at this instant. Timeline:
          //   device: lookup returns frame P for va (the range is valid), drops the mmap lock;
          //   CPU:    munmap(va): start clears range.valid, sync_cpu_device_pagetables takes this
          //           mutex and erases nothing (va is not mapped yet), the PTE is cleared, end
          //           counts the window closed and sets range.valid = true again, P is freed;
          //   device: takes this mutex, sees range.valid == true and programs va -> P: a stale,
          //           freed frame that no later invalidation will ever erase.
          // The consolidated port compares sequence numbers instead (readRetry), which remember
          // that a window opened after the lookup began.
          if (!range.valid) {
            continue;
          }
          attempt.commit(found);
          return found;
        } finally {
          mutex.unlock();
          attempt.finish(found);
        }
      }
    } finally {
      unregister(range);
    }
  }

  /**
   * One registered lookup range (kernel {@code struct hmm_range} of the {@code hmm_mirror} era). It
   * stands in for the subscription an {@code HmmRange} names: the walk fails with {@code EBUSY}
   * while the range is invalid, as the v5.4 {@code hmm_range_fault} did.
   */
  private final class Range implements MmuIntervalNotifier {
    private final long start;
    private final long end;
    private volatile boolean valid;

    Range(long start, long end) {
      this.start = start;
      this.end = end;
    }

    @Override
    public AddressSpace addressSpace() {
      return mirror.mm();
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

    @Override
    public void setSeq(long curSeq) {
      throw new UnsupportedOperationException("a legacy hmm range has no sequence");
    }

    @Override
    public void remove() {
      unregister(this);
    }

    @Override
    public String toString() {
      return mirror.id()
          + " hmm range [0x"
          + Long.toHexString(start)
          + ", 0x"
          + Long.toHexString(end)
          + ")"
          + (valid ? "" : " invalid");
    }
  }
}
