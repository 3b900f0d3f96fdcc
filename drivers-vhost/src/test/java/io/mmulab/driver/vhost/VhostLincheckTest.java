package io.mmulab.driver.vhost;

import static io.mmulab.api.hmm.HmmPfnLayout.MAINLINE;
import static io.mmulab.api.hmm.HmmPfnLayout.VALID;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierFactory;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Lockable;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.testkit.lincheck.LincheckRun;
import io.mmulab.testkit.lincheck.ModelCheckedRuntime;
import io.mmulab.testkit.lincheck.RacingThreads;
import org.jetbrains.lincheck.Lincheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;

/**
 * Lincheck model checking of the legacy worker's used-ring write against a migration of the used
 * ring's page, on the driver's real classes ({@link VhostDevice}, {@link VhostVirtqueue}, {@link
 * VhostMap}, {@link VhostLegacy}: prefetch, map access, invalidate callbacks) and the real runtime
 * ({@link RealSyncRuntime} through {@link ModelCheckedRuntime}).
 *
 * <p>The simulated machine and the notifier core are too heavy for Lincheck, which instruments and
 * explores everything, so the world is one page: {@link VhostHw} is one volatile frame that the
 * migration changes and then frees, recording a map access to a freed frame, or to a frame the CPU
 * no longer maps once a callback returned; the address space only lets the notifier register, and
 * the migration calls the notifier's start and end itself, as the core does. The used ring is that
 * page (the other rings lie on a page nothing touches). One thread is the worker (the test takes
 * the virtqueue mutex, as {@link VhostWorker} does around each item) writing the used index; the
 * other migrates the page.
 *
 * <p>The consolidated variant is not model-checked here: it needs the notifier core (interval
 * subscriptions, sequence counts), which makes each invocation slow enough for Lincheck to report
 * it hung; its clean runs are the deterministic scheduler's (conformance, seeds 1–1000).
 */
class VhostLincheckTest {
  private static final long PAGE = AddressSpace.PAGE_SIZE;
  private static final long BASE = 0x10000;
  private static final long USED = BASE;
  private static final long OLD_FRAME = 1;
  private static final long NEW_FRAME = 2;

  /** The map-load race is found within a few invocations (a cap, not a cost). */
  private static final int RACY_INVOCATIONS = 60;

  /** One invocation's world: the mm, the one-page hardware, the device and its variant. */
  private static final class World implements VhostHw {
    volatile long cpuFrame = OLD_FRAME;
    volatile long freedFrame = -1;
    volatile boolean callbackReturned;
    volatile String badAccess;

    final AddressSpace mm = new OneUserMm();
    final VhostDevice dev;
    final VhostLegacy legacy;

    World() {
      SyncRuntime rt = new ModelCheckedRuntime();
      dev = new VhostDevice("vhost", rt, mm, this);
      try {
        legacy = new VhostLegacy(dev);
        dev.vq.mutex.lock();
        try {
          legacy.setVringAddr(
              new VhostUaddr(BASE - PAGE, BASE - PAGE + 64),
              new VhostUaddr(BASE - PAGE + 64, BASE - PAGE + 128),
              new VhostUaddr(USED, BASE + PAGE));
          legacy.prefetch(VhostRing.USED);
        } finally {
          dev.vq.mutex.unlock();
        }
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    }

    // ---- the hardware: one page ----

    @Override
    public long getPageFast(long va, boolean write) {
      return cpuFrame;
    }

    @Override
    public void putPage(long pfn) {}

    @Override
    public void faultIn(HmmRange range) {
      range.hmmPfns()[0] = MAINLINE.encode(cpuFrame, VALID | WRITE, 0);
    }

    @Override
    public long mapRead(long va, long pfn) {
      check(pfn);
      return 0;
    }

    @Override
    public void mapWrite(long va, long pfn, long value) {
      check(pfn);
    }

    private void check(long pfn) {
      if (pfn == freedFrame) {
        badAccess = "frame " + pfn + " written after it was freed";
      } else if (callbackReturned && pfn != cpuFrame) {
        badAccess = "frame " + pfn + " written after the callback returned";
      }
    }

    @Override
    public long copyFromUser(long va) {
      return 0;
    }

    @Override
    public void copyToUser(long va, long value) {}

    @Override
    public void mapped(String subscription, long va, long pfn, boolean writable) {}

    @Override
    public void unmapped(long start, long end) {}

    @Override
    public void subscribed(String subscription, long start, long end) {}

    @Override
    public void unsubscribed(String subscription) {}

    @Override
    public void callbackEntered(String subscription, long start, long end) {}

    @Override
    public void callbackReturned(String subscription, long start, long end, long seq) {
      callbackReturned = true;
    }

    @Override
    public void tornDown() {}

    // ---- the two threads ----

    void worker() {
      dev.vq.mutex.lock();
      try {
        dev.write(legacy, USED, 7);
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      } finally {
        dev.vq.mutex.unlock();
      }
    }

    void migrate() {
      MmuNotifierRange range = MmuNotifierRange.of(mm, MmuNotifierEvent.MIGRATE, BASE, BASE + PAGE);
      legacy.invalidateRangeStart(range); // what the core calls, in this order
      cpuFrame = NEW_FRAME;
      freedFrame = OLD_FRAME; // nothing pinned it
      legacy.invalidateRangeEnd(range);
    }
  }

  private static Runnable scenario() {
    return () -> {
      World w = new World();
      RacingThreads.race("worker", w::worker, "migrate", w::migrate);
      if (w.badAccess != null) {
        throw new AssertionError("used-ring write through a dead map: " + w.badAccess);
      }
    };
  }

  @Test
  @EnabledForJreRange(
      max = JRE.JAVA_21,
      disabledReason =
          "Lincheck 3.7's model checker does not reach this interleaving on JDK 22+ (clean in 1,000"
              + " invocations on JDK 25); the race's pinned reproductions run on every JDK")
  void legacy_usedRingWriteRacingMigration_lincheckFindsWriteAfterFree() {
    LincheckRun.assertFound(
        LincheckRun.run(
            "vhost LEGACY",
            RACY_INVOCATIONS,
            () -> Lincheck.runConcurrentTest(RACY_INVOCATIONS, scenario())),
        "the map loaded before the callback",
        "used-ring write through a dead map");
  }

  /**
   * The address space of the one-page world: it has a user and lets a classic notifier register;
   * the migration calls the notifier itself, as the core would, so nothing else is reached.
   */
  private static final class OneUserMm implements AddressSpace {
    @Override
    public String name() {
      return "vmm";
    }

    @Override
    public void registerNotifier(MmuNotifier notifier) {}

    @Override
    public boolean mmgetNotZero() {
      return true;
    }

    @Override
    public void mmput() {}

    @Override
    public int users() {
      return 1;
    }

    @Override
    public MmuIntervalNotifier insertIntervalNotifier(
        long start, long length, MmuIntervalNotifierOps ops) {
      throw unreached();
    }

    @Override
    public MmuIntervalNotifier insertIntervalNotifier(
        long start, long length, MmuIntervalNotifierOps ops, Lockable updateLock) {
      throw unreached();
    }

    @Override
    public MmuIntervalNotifier insertIntervalNotifierLocked(
        long start, long length, MmuIntervalNotifierOps ops, Lockable updateLock) {
      throw unreached();
    }

    @Override
    public void registerNotifierLocked(MmuNotifier notifier) {
      throw unreached();
    }

    @Override
    public void unregisterNotifier(MmuNotifier notifier) {
      throw unreached();
    }

    @Override
    public <T extends MmuNotifier> T getNotifier(MmuNotifierFactory<T> factory) {
      throw unreached();
    }

    @Override
    public void putNotifier(MmuNotifier notifier) {
      throw unreached();
    }

    @Override
    public void synchronizeNotifiers() {
      throw unreached();
    }

    @Override
    public RwSemaphore mmapLock() {
      throw unreached();
    }

    @Override
    public void mmget() {
      throw unreached();
    }

    @Override
    public int getUserPages(long start, int nrPages, int gupFlags, long[] pfns) {
      throw unreached();
    }

    @Override
    public void hmmRangeFault(HmmRange range) {
      throw unreached();
    }

    private static UnsupportedOperationException unreached() {
      return new UnsupportedOperationException("not part of the one-page world");
    }
  }
}
