package io.mmulab.driver.nouveau;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.MmBackend;
import io.mmulab.core.MmStruct;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.testkit.lincheck.LincheckRun;
import io.mmulab.testkit.lincheck.ModelCheckedRuntime;
import io.mmulab.testkit.lincheck.RacingThreads;
import org.jetbrains.lincheck.Lincheck;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of the nouveau fault path against an invalidation, on the driver's real
 * classes ({@link NouveauSvmmCore}, {@link NouveauLegacyMirror}, {@link NouveauConsolidatedSync})
 * with the real core ({@link MmStruct}: interval subscriptions, classic notifiers, lock rules) and
 * {@link RealSyncRuntime}.
 *
 * <p>The whole sim stack (GPU engine thread, fault queue, physical memory) is too heavy for
 * Lincheck, which instruments and explores everything, so the hardware is minimal: the "CPU page
 * table" is one volatile frame {@code cpuFrame} that a test {@link MmBackend} returns from {@code
 * hmmRangeFault} (with the real {@code EBUSY} check of the range's subscription), and the "GPU page
 * table" is one entry behind {@link NouveauGpuPtes}. One thread resolves a GPU fault on the page;
 * another does what migration does (start, change {@code cpuFrame}, end), with no mmap lock, as
 * migration under {@code mmap_lock} read can. Afterwards the GPU must map nothing or the current
 * frame.
 *
 * <p>Every method goes through {@code RealSyncRuntime.get()} inside the invocation (the
 * instrumentation caveat explained in core's {@code CollisionRetryLincheckTest}).
 */
class NouveauLincheckTest {
  private static final long NONE = 0;
  private static final long OLD_FRAME = 1;
  private static final long NEW_FRAME = 2;
  private static final long START = 0x10000;
  private static final long PAGE = 0x1000;

  private static final int CLEAN_INVOCATIONS =
      Integer.getInteger("mmulab.lincheck.invocations", 40);
  private static final int LEGACY_INVOCATIONS = 300;

  /** Everything one invocation uses. */
  private static final class World implements NouveauGpuPtes, MmBackend {
    volatile long cpuFrame = OLD_FRAME;
    volatile long gpuFrame = NONE; // written under the svmm mutex
    final MmStruct mm;
    final NouveauSvmmCore core;
    final NouveauSync sync;

    World(DriverVariant variant) {
      SyncRuntime rt = ModelCheckedRuntime.withSteppingClock(300_000_000L);
      mm = new MmStruct(rt, "lincheck", m -> this);
      core = new NouveauSvmmCore(rt, mm, "gpu", this);
      sync =
          variant == DriverVariant.LEGACY
              ? new NouveauLegacyMirror(core)
              : new NouveauConsolidatedSync(core);
      try {
        sync.open();
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    }

    // The GPU page table
    @Override
    public void subscribed(String subscription) {}

    @Override
    public void unsubscribed(String subscription) {}

    @Override
    public void clear(String subscription, long start, long end) {
      gpuFrame = NONE;
    }

    @Override
    public void write(long va, long pfn, boolean writable) {
      gpuFrame = pfn;
    }

    @Override
    public void destroy() {
      gpuFrame = NONE;
    }

    // The CPU page table
    @Override
    public int getUserPages(long start, int nrPages, int gupFlags, long[] pfns) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void hmmRangeFault(HmmRange range) throws ErrnoException {
      if (range.notifier().checkRetry(range.notifierSeq())) {
        throw new ErrnoException(Errno.EBUSY, "collided");
      }
      range.hmmPfns()[0] = range.layout().encode(cpuFrame, HmmPfnLayout.VALID, 0);
    }

    @Override
    public void exitMmap() {}

    void fault() {
      try {
        sync.resolve(START, START + PAGE, false);
      } catch (ErrnoException e) {
        // EBUSY after the timeout: the fault is cancelled, nothing mapped
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
      RacingThreads.race("gpu-fault", w::fault, "cpu-migrate", w::migrate);
      long mapped = w.gpuFrame;
      if (mapped != NONE && mapped != w.cpuFrame) {
        throw new AssertionError(
            "stale GPU PTE: the GPU maps frame " + mapped + " but the CPU maps " + w.cpuFrame);
      }
    };
  }

  @Test
  void consolidated_faultVsMigration_noStaleGpuPte() {
    LincheckRun.assertClean(
        LincheckRun.run(
            "nouveau CONSOLIDATED",
            CLEAN_INVOCATIONS,
            () ->
                Lincheck.runConcurrentTest(
                    CLEAN_INVOCATIONS, scenario(DriverVariant.CONSOLIDATED))));
  }

  @Test
  void legacy_faultVsMigration_lincheckFindsTheValidFlagReset() {
    LincheckRun.assertFound(
        LincheckRun.run(
            "nouveau LEGACY",
            LEGACY_INVOCATIONS,
            () -> Lincheck.runConcurrentTest(LEGACY_INVOCATIONS, scenario(DriverVariant.LEGACY))),
        "the valid-flag reset interleaving",
        "stale GPU PTE: the GPU maps frame " + OLD_FRAME);
  }
}
