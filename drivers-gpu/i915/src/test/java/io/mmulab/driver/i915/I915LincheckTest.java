package io.mmulab.driver.i915;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.core.MmBackend;
import io.mmulab.core.MmStruct;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.gpu.GpuJob;
import io.mmulab.testkit.lincheck.LincheckRun;
import io.mmulab.testkit.lincheck.ModelCheckedRuntime;
import io.mmulab.testkit.lincheck.RacingThreads;
import java.util.List;
import org.jetbrains.lincheck.Lincheck;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of an execbuf racing an invalidation of its page, on the driver's real
 * protocol classes ({@link I915LegacyUserptr}: pin, insert into the private tree, bind, and its
 * classic notifier's restartable walk; {@link I915ConsolidatedUserptr}: {@code readBegin}, pin,
 * {@code readRetry} + bind + fence under {@code notifier_lock}, and its interval callback's {@code
 * setSeq} + fence wait) with the real core ({@link MmStruct}: classic and interval notifiers, lock
 * rules) and {@link RealSyncRuntime}.
 *
 * <p>The sim stack behind {@link I915Device} is too heavy for Lincheck (it reports {@code
 * PhysicalMemory}'s lock-creation loop as a livelock before the first driver call), so the driver
 * runs against a one-page {@link I915Hardware} fake: the "CPU page table" is one volatile frame
 * {@code cpuFrame} that a test {@link MmBackend} returns from GUP, the "GPU page table" one bound
 * frame, the object's reservation object one {@code jobRunning} flag with a wait queue. One thread
 * submits a read batch over the page (execbuf, then the engine runs it and signals its fence);
 * another does what madvise / migration does (start, change {@code cpuFrame}, end).
 *
 * <p>Invariants: the batch reads the frame the CPU maps; after both threads, a binding that no
 * invalidate callback has revoked (the checker's rule: a callback's return invalidates the object's
 * bindings of the range) must be the current CPU frame.
 *
 * <p>Every method goes through {@code RealSyncRuntime.get()} inside the invocation (the
 * instrumentation caveat explained in core's {@code CollisionRetryLincheckTest}).
 */
class I915LincheckTest {
  private static final long NONE = 0;
  private static final long OLD_FRAME = 1;
  private static final long NEW_FRAME = 2;
  private static final long START = 0x10000;
  private static final long PAGE = 0x1000;

  /** The batch; only passed through to {@link World#submit}, which runs nothing. */
  private static final GpuJob BATCH = GpuJob.builder("batch").read(START, 1).build();

  private static final int CLEAN_INVOCATIONS =
      Integer.getInteger("mmulab.lincheck.invocations", 200);
  private static final int LEGACY_INVOCATIONS = 300;

  /** Everything one invocation uses: the one-page hardware, the CPU page table, the driver. */
  private static final class World implements I915Hardware, MmBackend {
    volatile long cpuFrame = OLD_FRAME;
    volatile long pages = NONE; // the object's pinned frame
    volatile long boundFrame = NONE; // the ppGTT entry
    volatile boolean revoked; // a callback returned since the last bind
    volatile boolean jobRunning; // the request's fence in the object's resv
    final WaitQueue resv;
    final MmStruct mm;
    final I915Userptr userptr;

    World(DriverVariant variant) {
      SyncRuntime rt = new ModelCheckedRuntime();
      resv = rt.newWaitQueue("bo.resv");
      mm = new MmStruct(rt, "lincheck", m -> this);
      try {
        userptr =
            variant == DriverVariant.LEGACY
                ? new I915LegacyUserptr(rt, mm, this)
                : new I915ConsolidatedUserptr(rt, mm, this);
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    }

    // I915Hardware: one page
    @Override
    public String name() {
      return "i915";
    }

    @Override
    public String deviceId() {
      return "i915";
    }

    @Override
    public String mmName() {
      return "lincheck";
    }

    @Override
    public I915Object newObject(long page) {
      return new I915Object("userptr", page, page + PAGE, null);
    }

    @Override
    public boolean hasPages(I915Object o) {
      return pages != NONE;
    }

    @Override
    public void setPages(I915Object o, long[] pfns, boolean writable) {
      pages = pfns[0];
    }

    @Override
    public void unpin(long[] pfns) {}

    @Override
    public void bind(I915Object o) {
      boundFrame = pages;
      revoked = false;
    }

    @Override
    public void unbind(I915Object o) {
      boundFrame = NONE;
    }

    @Override
    public int releasePages(I915Object o) {
      int released = pages == NONE ? 0 : 1;
      pages = NONE;
      return released;
    }

    @Override
    public void waitIdle(I915Object o) {
      resv.waitEvent(() -> !jobRunning);
    }

    @Override
    public DmaFence submit(GpuJob job, List<I915Object> objs) {
      jobRunning = true;
      return null;
    }

    @Override
    public void waitVmIdle() {
      resv.waitEvent(() -> !jobRunning);
    }

    @Override
    public void shutdown() {}

    @Override
    public void subscriptionInserted(String subscription, long start, long end) {}

    @Override
    public void subscriptionRemoved(String subscription) {}

    @Override
    public void callbackEntered(String subscription, long start, long end) {}

    @Override
    public void callbackReturned(String subscription, long start, long end, long seq) {
      revoked = true;
    }

    // MmBackend: the CPU page table
    @Override
    public int getUserPages(long start, int nrPages, int gupFlags, long[] pfns) {
      pfns[0] = cpuFrame;
      return 1;
    }

    @Override
    public void hmmRangeFault(HmmRange range) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void exitMmap() {}

    /** The GPU side: execbuf of a read batch, then the engine runs it and signals the fence. */
    void execbuf() {
      try {
        userptr.execbuf(START, START + 8, false, BATCH);
      } catch (ErrnoException e) {
        throw new AssertionError("execbuf failed: " + e, e);
      }
      long used = boundFrame;
      long cpu = cpuFrame;
      if (used != cpu) {
        throw new AssertionError(
            "stale GPU binding: the batch reads frame " + used + " but the CPU maps " + cpu);
      }
      jobRunning = false;
      resv.wakeUpAll();
    }

    /** The CPU side: madvise(DONTNEED) / migration of the page. */
    void invalidate() {
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
      RacingThreads.race("gpu-execbuf", w::execbuf, "cpu-invalidate", w::invalidate);
      long bound = w.boundFrame;
      if (bound != NONE && !w.revoked && bound != w.cpuFrame) {
        throw new AssertionError(
            "stale GPU binding: frame "
                + bound
                + " stays bound, revoked by no callback, but the CPU maps "
                + w.cpuFrame);
      }
    };
  }

  @Test
  void consolidated_execbufRacingInvalidation_clean() {
    LincheckRun.assertClean(
        LincheckRun.run(
            "i915 CONSOLIDATED",
            CLEAN_INVOCATIONS,
            () ->
                Lincheck.runConcurrentTest(
                    CLEAN_INVOCATIONS, scenario(DriverVariant.CONSOLIDATED))));
  }

  @Test
  void legacy_execbufRacingInvalidation_lincheckFindsGupBeforeVisible() {
    LincheckRun.assertFound(
        LincheckRun.run(
            "i915 LEGACY",
            LEGACY_INVOCATIONS,
            () -> Lincheck.runConcurrentTest(LEGACY_INVOCATIONS, scenario(DriverVariant.LEGACY))),
        "the gup-before-visible interleaving",
        "stale GPU binding: ",
        "frame " + OLD_FRAME);
  }
}
