package io.mmulab.testkit.dmirror;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.sim.hmm.HmmMirror;

/**
 * The same device on the pre-5.5 {@code hmm_mirror} pattern (kernel v5.2–v5.4 {@code mm/hmm.c} and
 * the driver recipe of that era's {@code hmm.rst}), kept with its race.
 *
 * <p>The hmm core is the sim's {@link HmmMirror}: one classic notifier per mirror that clears the
 * {@code valid} flag of every overlapping registered range at start and sets them all valid again
 * when the last open invalidation ends. Its {@code sync_cpu_device_pagetables} is {@link
 * DmirrorMirror#invalidate} (mutex, erase, unlock).
 *
 * <p>The driver part ({@link #retry}): register a range, wait until it is valid, look up (the walk
 * itself fails with {@code EBUSY} while the range is invalid), take the mutex, check the flag,
 * program, unregister. The flag says only whether an invalidation is open <em>now</em>; it does not
 * remember one that opened and closed after the lookup. See the {@code LEGACY RACE} comment.
 */
final class LegacySync extends MirrorSync {
  /** The subscription's name in checker events. */
  static final String SUBSCRIPTION = "hmm_mirror";

  private final DmirrorMirror mirror;
  private final HmmMirror hmm;

  LegacySync(DmirrorMirror mirror) {
    this.mirror = mirror;
    this.hmm =
        new HmmMirror(
            mirror.runtime(),
            mirror.mm(),
            mirror.id(),
            new HmmMirror.Ops() {
              @Override
              public boolean syncCpuDevicePagetables(MmuNotifierRange range) {
                return mirror.invalidate(SUBSCRIPTION, range, () -> {}, 0);
              }

              @Override
              public void release(AddressSpace mm) {
                mirror.invalidate(SUBSCRIPTION, MmuNotifierRange.release(mm), () -> {}, 0);
              }
            });
  }

  @Override
  void open() throws ErrnoException {
    hmm.register();
    mirror
        .checker()
        .subscriptionInserted(
            mirror.id(), SUBSCRIPTION, mirror.mmName(), 0, MmuNotifierRange.ULONG_MAX);
  }

  @Override
  void close() {
    hmm.unregister(); // calls release() first unless the mm was released
    mirror.checker().subscriptionRemoved(mirror.id(), SUBSCRIPTION);
  }

  // ---------------------------------------------------------------------------------------------
  // The driver's fault loop (hmm.rst, v5.4)

  @Override
  <T> T retry(long start, long end, boolean privateNotifier, Attempt<T> attempt)
      throws ErrnoException {
    // A registered range already watches exactly the lookup's window, so SNAPSHOT needs nothing
    // of its own here (privateNotifier is ignored).
    HmmMirror.Range range = hmm.registerRange(start, end);
    try {
      long deadline = mirror.runtime().clock().nanoTime() + TIMEOUT_NANOS;
      Mutex mutex = mirror.mutex();
      while (true) {
        hmm.waitUntilValid(range, deadline);
        T found;
        try {
          found = attempt.lookup(range, 0);
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
          // LEGACY RACE: the flag only says that no invalidation is open at this instant. Timeline:
          //   device: lookup returns frame P for va (the range is valid), drops the mmap lock;
          //   CPU:    munmap(va): start clears range.valid, sync_cpu_device_pagetables takes this
          //           mutex and erases nothing (va is not mapped yet), the PTE is cleared, end
          //           counts the window closed and sets range.valid = true again, P is freed;
          //   device: takes this mutex, sees range.valid == true and programs va -> P: a stale,
          //           freed frame that no later invalidation will ever erase.
          // The consolidated port compares sequence numbers instead (readRetry), which remember
          // that a window opened after the lookup began.
          if (!range.valid()) {
            mirror.stats().retry();
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
      range.remove();
    }
  }
}
