package io.mmulab.driver.gntdev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.MmStruct;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.testkit.lincheck.ModelCheckedRuntime;
import io.mmulab.testkit.lincheck.RacingThreads;
import java.util.concurrent.atomic.AtomicInteger;
import org.jetbrains.lincheck.Lincheck;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of two invalidations of the same granted page at once (two threads, each
 * a start..end over the page, as a migration and an {@code MADV_DONTNEED} under the mmap lock held
 * for read), on the driver's real variant classes ({@link GntdevLegacy}, {@link GntdevAsMerged},
 * {@link GntdevConsolidated}: their notifiers, callbacks, unmap paths and {@link GntdevGrantMap})
 * with the real notifier core ({@link MmStruct}) and runtime ({@link RealSyncRuntime} locks).
 *
 * <p>The hypervisor is one grant of one page (the sim's hypervisor, checker and memory are too
 * heavy for Lincheck): the grant's handle is mapped when the invocation starts, and the stand-in
 * counts the unmap hypercalls of it. Afterwards the page must have no grant left and the grant must
 * have been unmapped exactly once. The 5.5 callback reads and clears the handle with no lock, and
 * Lincheck finds the interleaving where both callbacks unmap it.
 */
class GntdevLincheckTest {
  private static final long START = 0x10000;
  private static final long PAGE = 0x1000;
  private static final long HANDLE = 7;
  private static final int CLEAN_INVOCATIONS =
      Integer.getInteger("gntdev.lincheck.invocations", 20);
  private static final int RACY_INVOCATIONS = 100;

  /** One invocation: the address space, the file and its one-page map, the one-grant hypervisor. */
  private static final class World implements GntdevHypervisor {
    final AtomicInteger unmaps = new AtomicInteger();
    final MmStruct mm;
    final GntdevFile file;
    final GntdevGrantMap map;

    World(DriverVariant variant) {
      SyncRuntime rt = new ModelCheckedRuntime();
      mm = new MmStruct(rt);
      file =
          switch (variant) {
            case LEGACY -> new GntdevLegacy("gntdev", mm, rt, this);
            case AS_MERGED -> new GntdevAsMerged("gntdev", mm, rt, this);
            case CONSOLIDATED -> new GntdevConsolidated("gntdev", mm, rt, this);
          };
      try {
        file.open();
        map = file.addMap(mm, START, 1);
        mm.mmapLock().downWrite();
        try {
          file.mmap(map);
          map.refs[0] = 1;
          map.handles.set(0, HANDLE); // the map hypercall, as the mmap path makes it
        } finally {
          mm.mmapLock().upWrite();
        }
      } catch (io.mmulab.api.ErrnoException e) {
        throw new AssertionError(e);
      }
    }

    void invalidate() {
      MmuNotifierRange r = MmuNotifierRange.of(mm, MmuNotifierEvent.MIGRATE, START, START + PAGE);
      mm.invalidateRangeStart(r);
      mm.invalidateRangeEnd(r);
    }

    // ---- the hypervisor: one grant, no page in use ----

    @Override
    public int grantForeignAccess(long pfn, boolean readOnly) {
      return 1;
    }

    @Override
    public void endForeignAccess(int ref) {}

    @Override
    public void unmapGrant(long handle) {
      unmaps.incrementAndGet();
    }

    @Override
    public boolean unmapGrantAsync(long handle, Runnable done) {
      unmaps.incrementAndGet();
      return true;
    }

    @Override
    public void subscribed(String subscription, String mm, long start, long end) {}

    @Override
    public void unsubscribed(String subscription) {}

    @Override
    public void callbackEntered(String subscription, String mm, long start, long end) {}

    @Override
    public void callbackReturned(String subscription, String mm, long start, long end, long seq) {}
  }

  private static Runnable scenario(DriverVariant variant) {
    return () -> {
      World w = new World(variant);
      RacingThreads.race("migrate", w::invalidate, "dontneed", w::invalidate);
      if (w.map.handles.get(0) != GntdevGrantMap.INVALID_HANDLE) {
        throw new AssertionError("the page still holds its grant after two invalidations");
      }
      if (w.unmaps.get() != 1) {
        throw new AssertionError("grant unmapped " + w.unmaps.get() + " times");
      }
    };
  }

  private static Throwable run(DriverVariant variant, int invocations) {
    Throwable thrown =
        catchThrowable(() -> Lincheck.runConcurrentTest(invocations, scenario(variant)));
    System.out.printf(
        "gntdev %s lincheck (up to %d invocations): %s%n",
        variant, invocations, thrown == null ? "clean" : "caught");
    return thrown;
  }

  @Test
  void asMerged_twoInvalidationsOfOnePage_lincheckFindsTheDoubleUnmap() {
    Throwable thrown = run(DriverVariant.AS_MERGED, RACY_INVOCATIONS);
    assertThat(thrown).isInstanceOf(AssertionError.class);
    assertThat(thrown.getMessage())
        .contains("grant unmapped 2 times")
        .contains("The following interleaving leads to the error");
  }

  /**
   * Lincheck instruments the classes an invocation touches during its first run in a JVM; on a
   * loaded machine that first run can outlast Lincheck's hang timeout and be reported as hung,
   * whichever variant it checks. One throw-away invocation takes that cost before the tests.
   */
  @BeforeAll
  static void instrumentOnce() {
    Throwable unused =
        catchThrowable(() -> Lincheck.runConcurrentTest(1, scenario(DriverVariant.LEGACY)));
  }

  @Test
  void legacy_twoInvalidationsOfOnePage_clean() {
    assertClean(run(DriverVariant.LEGACY, CLEAN_INVOCATIONS));
  }

  @Test
  void consolidated_twoInvalidationsOfOnePage_clean() {
    assertClean(run(DriverVariant.CONSOLIDATED, CLEAN_INVOCATIONS));
  }

  private static void assertClean(Throwable thrown) {
    if (thrown != null) {
      throw new AssertionError("Lincheck found a failure:\n" + thrown, thrown);
    }
  }
}
