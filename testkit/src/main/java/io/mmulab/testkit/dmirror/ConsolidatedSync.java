package io.mmulab.testkit.dmirror;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Mutex;
import io.mmulab.sim.driver.DriverStats;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The reference pattern (Linux 5.5 interval notifiers, {@code lib/test_hmm.c}): one subscription
 * over {@code [0, ULONG_MAX & PAGE_MASK)} inserted at open, whose callback takes the mirror's
 * {@code mutex} (the update lock), publishes the new sequence and erases the device entries; and
 * the collision-retry loop of docs/notifier.md around every lookup.
 *
 * <p>Why {@code mutex} is the update lock: it is the lock held while the device page table is
 * programmed <em>and</em> while it is used by the device (READ/WRITE copy under it). So a lookup
 * validated by {@code readRetry} under it cannot be overtaken by a zap: a callback that published
 * its sequence first makes {@code readRetry} true, and one that comes later waits for the mutex and
 * then erases what was just programmed.
 */
final class ConsolidatedSync extends MirrorSync {
  /** The subscription's name in checker events. */
  static final String SUBSCRIPTION = "notifier";

  /** The length of the whole-space subscription: {@code ULONG_MAX & PAGE_MASK}. */
  static final long WHOLE_SPACE = -1L & -DmirrorMirror.PAGE_SIZE;

  private final DmirrorMirror mirror;
  private @Nullable MmuIntervalNotifier notifier; // set by open()

  ConsolidatedSync(DmirrorMirror mirror) {
    this.mirror = mirror;
  }

  @Override
  void open() throws ErrnoException {
    notifier =
        mirror
            .mm()
            .insertIntervalNotifier(
                0,
                WHOLE_SPACE,
                (sub, range, curSeq) ->
                    mirror.invalidate(SUBSCRIPTION, range, () -> sub.setSeq(curSeq), curSeq),
                mirror.mutex());
    mirror
        .checker()
        .subscriptionInserted(mirror.id(), SUBSCRIPTION, mirror.mmName(), 0, WHOLE_SPACE);
  }

  private MmuIntervalNotifier subscription() {
    return Objects.requireNonNull(notifier, "the mirror was never opened");
  }

  @Override
  void close() {
    subscription().remove();
    mirror.checker().subscriptionRemoved(mirror.id(), SUBSCRIPTION);
  }

  /**
   * SNAPSHOT's temporary subscription (kernel {@code dmirror_snapshot_invalidate}): it only takes
   * the mutex and publishes the sequence, since any invalidation of the window invalidates the
   * whole snapshot chunk.
   */
  private MmuIntervalNotifierOps snapshotOps() {
    Mutex mutex = mirror.mutex();
    DriverStats stats = mirror.stats();
    return (sub, range, curSeq) -> {
      stats.invalidation();
      if (range.blockable()) {
        mutex.lock();
      } else if (!mutex.tryLock()) {
        stats.refused();
        return false;
      }
      try {
        sub.setSeq(curSeq);
      } finally {
        mutex.unlock();
      }
      return true;
    };
  }

  @Override
  <T> T retry(long start, long end, boolean privateNotifier, Attempt<T> attempt)
      throws ErrnoException {
    MmuIntervalNotifier sub =
        privateNotifier
            ? mirror.mm().insertIntervalNotifier(start, end - start, snapshotOps(), mirror.mutex())
            : subscription();
    try {
      Clock clock = mirror.runtime().clock();
      long deadline = clock.nanoTime() + TIMEOUT_NANOS;
      Mutex mutex = mirror.mutex();
      while (true) {
        if (clock.nanoTime() - deadline > 0) {
          throw new ErrnoException(
              Errno.EBUSY,
              mirror.id()
                  + ": lookup of [0x"
                  + Long.toHexString(start)
                  + ", 0x"
                  + Long.toHexString(end)
                  + ") kept colliding for 1000 ms");
        }
        long seq = sub.readBegin();
        T found;
        try {
          found = attempt.lookup(sub, seq);
        } catch (ErrnoException e) {
          if (e.errno() == Errno.EBUSY) {
            mirror.stats().retry();
            continue;
          }
          throw e;
        }
        mirror.afterLookup();
        mutex.lock();
        try {
          if (sub.readRetry(seq)) {
            mirror.stats().retry();
            continue; // an invalidation collided with the lookup: it is stale
          }
          attempt.commit(found);
          return found;
        } finally {
          mutex.unlock();
          attempt.finish(found);
        }
      }
    } finally {
      if (privateNotifier) {
        sub.remove();
      }
    }
  }
}
