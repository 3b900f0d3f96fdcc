package io.mmulab.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.core.sync.RealSyncRuntime;
import java.util.function.BooleanSupplier;
import org.jetbrains.lincheck.Lincheck;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of the collision-retry pattern (docs/notifier.md, invariant 29) on the
 * real {@link MmStruct}, {@link MmuNotifierSubscriptions}, {@link IntervalSubscription}, {@link
 * LockDep} and every primitive of {@link RealSyncRuntime}.
 *
 * <p>The model: a "device" holds one page-table entry {@code mappedFrame}; the "CPU page table" is
 * one entry {@code cpuFrame}. One interval subscription covers the page. A reader thread runs the
 * populate side (read begin, snapshot, update lock, retry check, program); an invalidator thread
 * does what the kernel does for munmap or migration (start, change {@code cpuFrame}, end). After
 * both threads have finished, the device must not map anything but the current CPU frame.
 *
 * <p>The correct pattern must be clean, with one or two (overlapping) invalidators. Three broken
 * variants must be caught, which proves that the model checker really explores the interleavings
 * that matter: no {@code readRetry}, the retry check outside the update lock, and a {@code
 * readBegin} that does not sleep (a mutation of the core through its wait queue).
 *
 * <p>{@code RealWaitQueue} sleeps with an untimed {@code Object.wait()} when the wait is unbounded:
 * Lincheck 3.7 models a timed wait as an immediate return that neither releases the monitor nor
 * lets another thread run, so with a timed wait a reader blocked in {@code readBegin} would spin
 * and the run would be reported as a livelock.
 */
class CollisionRetryLincheckTest {
  private static final long NONE = 0;
  private static final long OLD_FRAME = 1;
  private static final long NEW_FRAME = 2;
  private static final long OTHER_NEW_FRAME = 3;

  private static final long START = 0x1000;
  private static final long LENGTH = 0x1000;

  /** How many times the reader goes round the retry loop before it gives up (no mapping). */
  private static final int READER_TRIES = 3;

  /**
   * Invocations of a clean test with one invalidator (two thirds of it with two invalidators).
   * Every lock-rule check and collection operation of the core is analysed too, so one invocation
   * costs about 20 ms of CPU, and up to 90 ms of wall time on 2 cores shared with other builds;
   * this keeps the class under a minute on a quiet machine. The broken variants are caught within a
   * few hundred invocations. Raise it with {@code -Dmmulab.lincheck.invocations=N} for a deeper
   * search.
   */
  private static final int CLEAN_INVOCATIONS =
      Integer.getInteger("mmulab.lincheck.invocations", 500);

  /** The broken patterns are caught within the first few hundred invocations. */
  private static final int BROKEN_INVOCATIONS = 2_000;

  /**
   * {@link RealSyncRuntime}, or for the mutation test the same with wait queues that never sleep.
   *
   * <p>Every method calls the static {@link RealSyncRuntime#get()} instead of caching the runtime
   * in a field, and a fresh instance is created inside each invocation: Lincheck 3.7 instruments
   * classes lazily, when analysed code calls a static method, reads a static field or creates an
   * object of them. A {@code RealSyncRuntime} cached by a static initializer (which Lincheck runs
   * unanalysed) is never instrumented, so neither are the {@code RealMutex}/{@code RealSpinLock} it
   * creates nor their {@code ReentrantLock}s: a contended lock then parks the JVM thread behind the
   * model checker's back and the run hangs for real (observed: reader parked in {@code
   * AbstractQueuedSynchronizer.acquire} from {@code MmuNotifierSubscriptions.readBegin} while the
   * scheduler waited for it, "Concurrent test has hung" with no interleaving). {@link World} also
   * creates its update lock through {@code RealSyncRuntime.get()} directly, which on its own is
   * enough to get these classes instrumented.
   */
  private static final class ModelCheckedRuntime implements SyncRuntime {
    private final boolean waitQueuesSleep;

    /**
     * Creates the runtime.
     *
     * @param waitQueuesSleep false only for the mutation test: wait queues that never sleep
     */
    ModelCheckedRuntime(boolean waitQueuesSleep) {
      this.waitQueuesSleep = waitQueuesSleep;
    }

    @Override
    public Mutex newMutex(String name) {
      return RealSyncRuntime.get().newMutex(name);
    }

    @Override
    public SpinLock newSpinLock(String name) {
      return RealSyncRuntime.get().newSpinLock(name);
    }

    @Override
    public RwSemaphore newRwSemaphore(String name) {
      return RealSyncRuntime.get().newRwSemaphore(name);
    }

    @Override
    public WaitQueue newWaitQueue(String name) {
      return waitQueuesSleep
          ? RealSyncRuntime.get().newWaitQueue(name)
          : new NonSleepingWaitQueue();
    }

    @Override
    public Completion newCompletion(String name) {
      return RealSyncRuntime.get().newCompletion(name);
    }

    @Override
    public Clock clock() {
      return RealSyncRuntime.get().clock();
    }

    @Override
    public void yieldPoint(String label) {
      RealSyncRuntime.get().yieldPoint(label);
    }

    @Override
    public ThreadHandle spawn(String name, Runnable body) {
      return RealSyncRuntime.get().spawn(name, body);
    }
  }

  /**
   * A broken wait queue for the mutation test: {@code waitEvent} returns at once, so {@code
   * readBegin} no longer sleeps while a window that already hit the subscription is open.
   */
  private static final class NonSleepingWaitQueue implements WaitQueue {
    @Override
    public void waitEvent(BooleanSupplier condition) {}

    @Override
    public boolean waitEventTimeout(BooleanSupplier condition, long timeoutNanos) {
      return condition.getAsBoolean();
    }

    @Override
    public void wakeUpAll() {}
  }

  /** One reader strategy: the populate side of a driver. */
  private interface Reader {
    void populate(World w);
  }

  /** Everything one model-checking invocation uses; created afresh inside each invocation. */
  private static final class World {
    final MmStruct mm;
    final Mutex updateLock = RealSyncRuntime.get().newMutex("device.update");
    final MmuIntervalNotifier sub;

    /** The device page-table entry; written only under {@link #updateLock}. */
    long mappedFrame = NONE;

    /** The CPU page-table entry; written by the invalidator between start and end. */
    volatile long cpuFrame = OLD_FRAME;

    /** A failure inside a callback or a thread, rethrown by the checking thread. */
    volatile Throwable failure;

    World(boolean waitQueuesSleep) {
      mm = new MmStruct(new ModelCheckedRuntime(waitQueuesSleep));
      try {
        sub =
            mm.insertIntervalNotifier(
                START,
                LENGTH,
                (s, range, curSeq) -> {
                  updateLock.lock();
                  try {
                    s.setSeq(curSeq);
                    mappedFrame = NONE; // zap the device entry and "flush the device TLB"
                  } finally {
                    updateLock.unlock();
                  }
                  return true;
                },
                updateLock);
      } catch (ErrnoException e) {
        throw new AssertionError("insert failed", e);
      }
    }

    void invalidate(long newFrame) {
      MmuNotifierRange range =
          MmuNotifierRange.of(mm, MmuNotifierEvent.MIGRATE, START, START + LENGTH);
      mm.invalidateRangeStart(range);
      cpuFrame = newFrame; // the page-table change, strictly between start and end
      mm.invalidateRangeEnd(range);
    }

    Thread thread(String name, Runnable body) {
      return new Thread(
          () -> {
            try {
              body.run();
            } catch (RuntimeException | Error t) {
              if (t.getClass().getName().startsWith("org.jetbrains.")) {
                throw t; // Lincheck's own control flow (e.g. aborting a hung run)
              }
              failure = t;
            }
          },
          name);
    }
  }

  /**
   * The collision-retry pattern: read begin, snapshot, update lock, retry check under the lock,
   * program.
   */
  private static void correctReader(World w) {
    for (int i = 0; i < READER_TRIES; i++) {
      long seq = w.sub.readBegin();
      long snapshot = w.cpuFrame;
      w.updateLock.lock();
      try {
        if (w.sub.readRetry(seq)) {
          continue;
        }
        w.mappedFrame = snapshot;
        return;
      } finally {
        w.updateLock.unlock();
      }
    }
    // Gave up: no mapping, which is always safe.
  }

  /** Broken pattern 1: no retry check at all; the snapshot is programmed unconditionally. */
  private static void readerWithoutRetry(World w) {
    w.sub.readBegin();
    long snapshot = w.cpuFrame;
    w.updateLock.lock();
    try {
      w.mappedFrame = snapshot;
    } finally {
      w.updateLock.unlock();
    }
  }

  /**
   * Broken pattern 2: the retry check happens before the update lock is taken. {@code readRetry}
   * itself refuses to run without the update lock (it throws {@code LockRuleViolation}), so the
   * realistic way to write this bug is with the lock-free hint {@code checkRetry}, which is legal
   * anywhere but only says "no collision yet": an invalidation can slip in between the check and
   * the lock.
   */
  private static void readerCheckingOutsideLock(World w) {
    for (int i = 0; i < READER_TRIES; i++) {
      long seq = w.sub.readBegin();
      long snapshot = w.cpuFrame;
      if (w.sub.checkRetry(seq)) {
        continue;
      }
      w.updateLock.lock();
      try {
        w.mappedFrame = snapshot;
        return;
      } finally {
        w.updateLock.unlock();
      }
    }
  }

  /**
   * One invocation: a fresh world, one reader, {@code invalidators} invalidator threads (each
   * moving the page to its own new frame), join, then the invariant "no stale device value".
   */
  private static Runnable scenario(Reader reader, int invalidators) {
    return scenario(reader, invalidators, true);
  }

  private static Runnable scenario(Reader reader, int invalidators, boolean waitQueuesSleep) {
    return () -> {
      World w = new World(waitQueuesSleep);
      Thread[] threads = new Thread[1 + invalidators];
      threads[0] = w.thread("reader", () -> reader.populate(w));
      for (int i = 1; i <= invalidators; i++) {
        long frame = i == 1 ? NEW_FRAME : OTHER_NEW_FRAME;
        threads[i] = w.thread("invalidator" + i, () -> w.invalidate(frame));
      }
      for (Thread t : threads) {
        t.start();
      }
      for (Thread t : threads) {
        try {
          t.join();
        } catch (InterruptedException e) {
          throw new AssertionError("interrupted", e);
        }
      }
      if (w.failure != null) {
        throw new AssertionError("a thread failed: " + w.failure, w.failure);
      }
      long mapped = w.mappedFrame;
      long cpu = w.cpuFrame;
      if (mapped != NONE && mapped != cpu) {
        throw new AssertionError(
            "stale device mapping: device maps frame " + mapped + " but the CPU maps " + cpu);
      }
    };
  }

  private static Throwable modelCheck(Runnable scenario, int invocations) {
    return catchThrowable(() -> Lincheck.runConcurrentTest(invocations, scenario));
  }

  private static void assertClean(Throwable thrown) {
    if (thrown != null) {
      throw new AssertionError(
          "Lincheck found a failure in the correct pattern:\n" + thrown, thrown);
    }
  }

  private static void assertCaughtStaleMapping(Throwable thrown) {
    assertThat(thrown)
        .as("Lincheck must find the stale-mapping interleaving of the broken pattern")
        .isInstanceOf(AssertionError.class);
    assertThat(thrown.getClass().getName()).startsWith("org.jetbrains.");
    assertThat(thrown.getMessage())
        .contains("stale device mapping: device maps frame " + OLD_FRAME)
        .contains("The following interleaving leads to the error");
  }

  @Test
  void correctPattern_oneInvalidator_noStaleMapping() {
    Throwable thrown =
        modelCheck(scenario(CollisionRetryLincheckTest::correctReader, 1), CLEAN_INVOCATIONS);
    assertClean(thrown);
  }

  @Test
  void brokenPatternWithoutReadRetry_oneInvalidator_lincheckFindsStaleMapping() {
    Throwable thrown =
        modelCheck(scenario(CollisionRetryLincheckTest::readerWithoutRetry, 1), BROKEN_INVOCATIONS);
    assertCaughtStaleMapping(thrown);
  }

  @Test
  void brokenPatternWithRetryCheckOutsideLock_oneInvalidator_lincheckFindsStaleMapping() {
    Throwable thrown =
        modelCheck(
            scenario(CollisionRetryLincheckTest::readerCheckingOutsideLock, 1), BROKEN_INVOCATIONS);
    assertCaughtStaleMapping(thrown);
  }

  @Test
  void correctPattern_twoOverlappingInvalidators_noStaleMapping() {
    Throwable thrown =
        modelCheck(
            scenario(CollisionRetryLincheckTest::correctReader, 2), CLEAN_INVOCATIONS * 2 / 3);
    assertClean(thrown);
  }

  /**
   * Mutation test of the core: with a wait queue that never sleeps, {@code readBegin} returns while
   * the window that already invalidated the subscription is still open (the first case of "The race
   * it closes", docs/notifier.md). The reader then snapshots the old frame, {@code readRetry}
   * cannot notice (the callback will not run again in this window), and the device maps the old
   * frame after the change. Lincheck must find it: this proves the clean runs above really explore
   * the "callback ran before readBegin" interleavings, in which the reader has to sleep.
   */
  @Test
  void correctPatternWithNonSleepingReadBegin_oneInvalidator_lincheckFindsStaleMapping() {
    Throwable thrown =
        modelCheck(
            scenario(CollisionRetryLincheckTest::correctReader, 1, false), BROKEN_INVOCATIONS);
    assertCaughtStaleMapping(thrown);
  }
}
