package io.mmulab.driver.radeon;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.MmStruct;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.testkit.lincheck.LincheckRun;
import io.mmulab.testkit.lincheck.ModelCheckedRuntime;
import io.mmulab.testkit.lincheck.RacingThreads;
import org.jetbrains.lincheck.Lincheck;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of radeon's CS path against an invalidation, on the driver's real variant
 * classes ({@link RadeonLegacy}, {@link RadeonAsMerged}, {@link RadeonConsolidated}: their {@code
 * validateAndSubmit} and invalidate callbacks, {@link RadeonBo} and its reservation) with the real
 * notifier core ({@link MmStruct}: classic notifiers, interval subscriptions, sequence counts) and
 * the real runtime ({@link RealSyncRuntime} locks and wait queues).
 *
 * <p>The whole sim stack (GPU engine threads, DMA, checker, physical memory) is too heavy for
 * Lincheck, which instruments and explores everything, so the hardware behind {@link RadeonGart} is
 * one page: the "CPU page table" is one volatile frame {@code cpuFrame} that GUP pins, the GART is
 * one entry, the BO's fences are always signalled (no job runs). One thread is a CS on the BO (peek
 * bound under the reservation, GUP, reserve, bind — consolidated: with {@code readBegin}/{@code
 * readRetry}); another does what migration does (start, change {@code cpuFrame}, end). Afterwards a
 * bound BO must map the current frame.
 *
 * <p>Every method goes through {@code RealSyncRuntime.get()} inside the invocation (the
 * instrumentation caveat explained in core's {@code CollisionRetryLincheckTest}).
 */
class RadeonLincheckTest {
  private static final long NONE = 0;
  private static final long OLD_FRAME = 1;
  private static final long NEW_FRAME = 2;
  private static final long START = 0x1000;
  private static final long PAGE = 0x1000;

  private static final int CLEAN_INVOCATIONS =
      Integer.getInteger("radeon.lincheck.invocations", 150);

  /** The GUP-after-start race is found within about ten invocations (a cap, not a cost). */
  private static final int RACY_INVOCATIONS = 100;

  /** One invocation's world: the mm, the one-page hardware, the variant and its one BO. */
  private static final class World implements RadeonGart {
    volatile long cpuFrame = OLD_FRAME;

    /** The GART entry ({@link #NONE}: unbound) and the BO's pinned frame; under the reservation. */
    volatile long gartFrame = NONE;

    volatile long pages = NONE;

    /** The frame the CS's job was queued on, if it was. */
    volatile long jobFrame = NONE;

    final MmStruct mm;
    final RadeonUserptr protocol;
    final RadeonBo bo;

    World(DriverVariant variant) {
      SyncRuntime rt = new ModelCheckedRuntime();
      mm = new MmStruct(rt);
      try {
        protocol =
            switch (variant) {
              case LEGACY -> new RadeonLegacy(rt, mm, "gpu", this);
              case AS_MERGED -> new RadeonAsMerged(rt, mm, "gpu", this);
              case CONSOLIDATED -> new RadeonConsolidated(rt, mm, "gpu", this);
            };
        bo = new RadeonBo("gpu.bo", START, PAGE, rt.newMutex("gpu.bo.reserve"), this, null);
        protocol.register(bo);
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    }

    // ---- the hardware: one page, one GART entry, no job in flight ----

    @Override
    public long[] pinUserPages(RadeonBo b, boolean write) {
      return new long[] {cpuFrame};
    }

    @Override
    public void unpin(long[] pfns, int count) {}

    @Override
    public boolean bound(RadeonBo b) {
      return gartFrame != NONE;
    }

    @Override
    public boolean hasPages(RadeonBo b) {
      return pages != NONE;
    }

    @Override
    public void bind(RadeonBo b, long[] pfns, boolean write) {
      pages = pfns[0];
      gartFrame = pfns[0];
    }

    @Override
    public void waitIdle(RadeonBo b) {}

    @Override
    public int unbind(RadeonBo b) {
      int released = pages == NONE ? 0 : 1;
      gartFrame = NONE;
      pages = NONE;
      return released;
    }

    @Override
    public void subscribed(String subscription, long start, long end) {}

    @Override
    public void unsubscribed(String subscription) {}

    @Override
    public void callbackEntered(String subscription, long start, long end) {}

    @Override
    public void callbackReturned(String subscription, long start, long end, long seq) {}

    // ---- the two threads ----

    void commandSubmission() {
      try {
        protocol.validateAndSubmit(
            bo,
            false,
            () -> {
              jobFrame = gartFrame;
              return null;
            });
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    }

    void migrate() {
      MmuNotifierRange range =
          MmuNotifierRange.of(mm, MmuNotifierEvent.MIGRATE, START, START + PAGE);
      mm.invalidateRangeStart(range);
      cpuFrame = NEW_FRAME;
      mm.invalidateRangeEnd(range);
    }
  }

  private static Runnable scenario(DriverVariant variant) {
    return () -> {
      World w = new World(variant);
      RacingThreads.race("cs", w::commandSubmission, "migrate", w::migrate);
      if (w.jobFrame == NONE) {
        throw new AssertionError("the CS queued no job");
      }
      long bound = w.gartFrame;
      if (bound != NONE && bound != w.cpuFrame) {
        throw new AssertionError(
            "stale GART entry: BO bound to frame " + bound + " but the CPU maps " + w.cpuFrame);
      }
    };
  }

  @Test
  void legacy_migrateRacingCs_lincheckFindsStaleGartEntry() {
    LincheckRun.assertFound(
        run(DriverVariant.LEGACY, RACY_INVOCATIONS),
        "the GUP-after-start interleaving",
        "stale GART entry: BO bound to frame " + OLD_FRAME);
  }

  @Test
  void asMerged_migrateRacingCs_lincheckFindsStaleGartEntry() {
    LincheckRun.assertFound(
        run(DriverVariant.AS_MERGED, RACY_INVOCATIONS),
        "the GUP-after-start interleaving",
        "stale GART entry: BO bound to frame " + OLD_FRAME);
  }

  @Test
  void consolidated_migrateRacingCs_clean() {
    LincheckRun.assertClean(run(DriverVariant.CONSOLIDATED, CLEAN_INVOCATIONS));
  }

  private static @Nullable Throwable run(DriverVariant variant, int invocations) {
    return LincheckRun.run(
        "radeon " + variant,
        invocations,
        () -> Lincheck.runConcurrentTest(invocations, scenario(variant)));
  }
}
