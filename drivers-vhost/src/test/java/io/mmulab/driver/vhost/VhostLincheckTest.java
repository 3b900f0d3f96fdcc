package io.mmulab.driver.vhost;

import static io.mmulab.api.hmm.HmmPfnLayout.MAINLINE;
import static io.mmulab.api.hmm.HmmPfnLayout.VALID;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.MmStruct;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.testkit.lincheck.ModelCheckedRuntime;
import io.mmulab.testkit.lincheck.RacingThreads;
import org.jetbrains.lincheck.Lincheck;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of the worker's used-ring write against a migration of the used ring's
 * page, on the driver's real classes ({@link VhostDevice}, {@link VhostVirtqueue}, {@link
 * VhostMap}, {@link VhostLegacy}, {@link VhostConsolidated}: prefetch, map access, invalidate
 * callbacks) with the real notifier core ({@link MmStruct}) and the real runtime ({@link
 * RealSyncRuntime} through {@link ModelCheckedRuntime}).
 *
 * <p>The simulated machine is too heavy for Lincheck, which instruments and explores everything, so
 * {@link VhostHw} is one page here: the CPU page table is one volatile frame, the migration frees
 * the old frame after changing it, and a map access to a freed frame, or to a frame the CPU no
 * longer maps once a callback returned, is recorded. The used ring is that page (the other rings
 * lie on a page nothing touches). One thread is the worker (the test takes the virtqueue mutex, as
 * {@link VhostWorker} does around each item) writing the used index; the other migrates the page.
 *
 * <p>Only the legacy variant is model-checked here: on the consolidated variant Lincheck reports
 * "Concurrent test has hung" on some explorations of this world (its invocations are slow, about a
 * second each); the consolidated variant's clean runs are the deterministic scheduler's.
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

    final MmStruct mm;
    final VhostDevice dev;
    final VhostAccel accel;

    World(DriverVariant variant) {
      SyncRuntime rt = new ModelCheckedRuntime();
      mm = new MmStruct(rt);
      dev = new VhostDevice("vhost", rt, mm, this);
      try {
        accel = variant == DriverVariant.LEGACY ? new VhostLegacy(dev) : new VhostConsolidated(dev);
        dev.vq.mutex.lock();
        try {
          accel.setVringAddr(
              new VhostUaddr(BASE - PAGE, BASE - PAGE + 64),
              new VhostUaddr(BASE - PAGE + 64, BASE - PAGE + 128),
              new VhostUaddr(USED, BASE + PAGE));
          accel.prefetch(VhostRing.USED);
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
        dev.write(accel, USED, 7);
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      } finally {
        dev.vq.mutex.unlock();
      }
    }

    void migrate() {
      MmuNotifierRange range = MmuNotifierRange.of(mm, MmuNotifierEvent.MIGRATE, BASE, BASE + PAGE);
      mm.invalidateRangeStart(range);
      cpuFrame = NEW_FRAME;
      freedFrame = OLD_FRAME; // nothing pinned it
      mm.invalidateRangeEnd(range);
    }
  }

  private static Runnable scenario(DriverVariant variant) {
    return () -> {
      World w = new World(variant);
      RacingThreads.race("worker", w::worker, "migrate", w::migrate);
      if (w.badAccess != null) {
        throw new AssertionError("used-ring write through a dead map: " + w.badAccess);
      }
    };
  }

  @Test
  void legacy_usedRingWriteRacingMigration_lincheckFindsWriteAfterFree() {
    Throwable found = null;
    try {
      Lincheck.runConcurrentTest(RACY_INVOCATIONS, scenario(DriverVariant.LEGACY));
    } catch (Throwable t) {
      found = t;
    }
    System.out.println("vhost LEGACY lincheck: " + (found == null ? "clean" : found.getMessage()));
    assertThat(found)
        .as("Lincheck must find the map loaded before the callback")
        .isInstanceOf(AssertionError.class);
    assertThat(found.getClass().getName()).startsWith("org.jetbrains.");
    assertThat(found.getMessage())
        .contains("used-ring write through a dead map")
        .contains("The following interleaving leads to the error");
  }
}
