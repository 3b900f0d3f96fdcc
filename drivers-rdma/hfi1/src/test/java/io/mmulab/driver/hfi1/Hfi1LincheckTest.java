package io.mmulab.driver.hfi1;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.MmStruct;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.testkit.lincheck.LincheckRun;
import io.mmulab.testkit.lincheck.ModelCheckedRuntime;
import io.mmulab.testkit.lincheck.RacingThreads;
import org.jetbrains.lincheck.Lincheck;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of hfi1's expected-receive setup against an munmap, on the driver's real
 * variant classes ({@link Hfi1ExpRcvLegacy} with its {@link Hfi1MmuRb} handler, {@link
 * Hfi1ExpRcvAsMerged}, {@link Hfi1ExpRcvConsolidated} with its cover notifier) and the real
 * notifier core ({@link MmStruct}) on the model-checked runtime.
 *
 * <p>The hardware is one page: the "CPU page table" is one volatile frame that {@link Hfi1Hw#pin}
 * returns, the RcvArray is one TID. One thread is {@code TID_UPDATE} of the page; the other does
 * what munmap does (start, change the frame, end). Afterwards a programmed TID must hold the frame
 * the CPU maps: the legacy and as-merged variants break it (their TID stays on the old frame, told
 * to user space or not at all), the consolidated one never does.
 */
class Hfi1LincheckTest {
  private static final long NONE = 0;
  private static final long OLD_FRAME = 1;
  private static final long NEW_FRAME = 2;
  private static final long START = 0x1000;
  private static final long PAGE = 0x1000;

  private static final int CLEAN_INVOCATIONS = Integer.getInteger("hfi1.lincheck.invocations", 150);

  /** The races are found within a few invocations (a cap, not a cost). */
  private static final int RACY_INVOCATIONS = 100;

  /** One invocation's world: the mm, the one-page hardware, the variant. */
  private static final class World implements Hfi1Hw, Hfi1TidArray {
    volatile long cpuFrame = OLD_FRAME;
    volatile long tidFrame = NONE;

    final MmStruct mm;
    final Hfi1ExpRcv expRcv;

    World(DriverVariant variant) {
      SyncRuntime rt = new ModelCheckedRuntime();
      mm = new MmStruct(rt);
      DriverStats stats = new DriverStats();
      try {
        expRcv =
            switch (variant) {
              case LEGACY -> new Hfi1ExpRcvLegacy(rt, mm, this, this, stats, "rcv");
              case AS_MERGED -> new Hfi1ExpRcvAsMerged(rt, mm, this, this, stats, "rcv");
              case CONSOLIDATED -> new Hfi1ExpRcvConsolidated(rt, mm, this, this, stats, "rcv");
            };
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    }

    // ---- the hardware: one page, one TID ----

    @Override
    public long pin(long va, boolean write) {
      return cpuFrame;
    }

    @Override
    public void unpin(long pfn) {}

    @Override
    public void subscribed(String subscription, long start, long end) {}

    @Override
    public void unsubscribed(String subscription) {}

    @Override
    public void callbackEntered(String subscription, long start, long end) {}

    @Override
    public void callbackReturned(String subscription, long start, long end, long seq) {}

    @Override
    public void mapped(String subscription, long va, long pfn) {}

    @Override
    public void unmapped(long va) {}

    @Override
    public long beginOperation() {
      return 0;
    }

    @Override
    public int size() {
      return 1;
    }

    @Override
    public void program(int tid, long va, long pfn, String subscription) {
      tidFrame = pfn;
    }

    @Override
    public boolean clear(int tid) {
      boolean was = tidFrame != NONE;
      tidFrame = NONE;
      return was;
    }

    // ---- the two threads ----

    void tidUpdate() {
      try {
        expRcv.tidUpdate(START, 1);
      } catch (ErrnoException e) {
        // EBUSY: the consolidated setup saw the munmap and unprogrammed the TID
      }
    }

    void munmap() {
      MmuNotifierRange range = MmuNotifierRange.of(mm, MmuNotifierEvent.UNMAP, START, START + PAGE);
      mm.invalidateRangeStart(range);
      cpuFrame = NEW_FRAME;
      mm.invalidateRangeEnd(range);
    }
  }

  private static Runnable scenario(DriverVariant variant) {
    return () -> {
      World w = new World(variant);
      RacingThreads.race("tid_update", w::tidUpdate, "munmap", w::munmap);
      long programmed = w.tidFrame;
      if (programmed != NONE && programmed != w.cpuFrame) {
        throw new AssertionError(
            "stale TID: RcvArray holds frame " + programmed + " but the CPU maps " + w.cpuFrame);
      }
    };
  }

  @Test
  void legacy_munmapRacingTidUpdate_lincheckFindsStaleTid() {
    LincheckRun.assertFound(
        run(DriverVariant.LEGACY, RACY_INVOCATIONS),
        "a TID left on the old frame",
        "stale TID: RcvArray holds frame " + OLD_FRAME);
  }

  @Test
  void asMerged_munmapRacingTidUpdate_lincheckFindsStaleTid() {
    LincheckRun.assertFound(
        run(DriverVariant.AS_MERGED, RACY_INVOCATIONS),
        "a TID left on the old frame",
        "stale TID: RcvArray holds frame " + OLD_FRAME);
  }

  @Test
  void consolidated_munmapRacingTidUpdate_clean() {
    LincheckRun.assertClean(run(DriverVariant.CONSOLIDATED, CLEAN_INVOCATIONS));
  }

  private static @Nullable Throwable run(DriverVariant variant, int invocations) {
    return LincheckRun.run(
        "hfi1 " + variant,
        invocations,
        () -> Lincheck.runConcurrentTest(invocations, scenario(variant)));
  }
}
