package io.mmulab.sim.check;

import static io.mmulab.sim.check.CoherencyChecker.NO_OP;
import static io.mmulab.sim.check.CoherencyChecker.NO_PFN;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.mem.FrameState;
import io.mmulab.sim.mem.PhysicalMemory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The registration-cache model (seed 002): entries hold pins and may be incoherent with the address
 * space; an operation in flight may finish on its pinned pages, a new one may not use an
 * invalidated entry. Lifetime, use-after-free and isolation still apply.
 */
class RegistrationCacheTest {
  private static final String RC = "hfi1.ctxt0";
  private static final String MM = "mm#1";
  private static final long PAGE = PhysicalMemory.PAGE_SIZE;
  private static final long VA = 0x20000;

  private final CoherencyChecker checker = new CoherencyChecker();
  private final PhysicalMemory mem = new PhysicalMemory(RealSyncRuntime.get(), 8, checker);
  private long pfn;

  @BeforeEach
  void cacheOnePinnedPage() throws ErrnoException {
    checker.declareDevice(RC, CoherencyModel.REGISTRATION_CACHE);
    pfn = mem.alloc("anon");
    checker.cpuPteChanged(MM, VA, NO_PFN, pfn, false, true);
    mem.pin(pfn); // get_user_pages(FOLL_PIN) for the cache entry
    checker.deviceMapped(RC, MM, VA, pfn, true);
  }

  @Test
  void inFlightOperation_finishesOnItsPinnedPagesAfterInvalidationAndMunmap() {
    long op = checker.beginOperation(RC);
    mem.deviceWriteLong(RC, op, MM, VA, pfn, 1);
    // munmap: the callback invalidates the entry without waiting; the CPU entry goes away.
    checker.invalidateCallbackReturned(RC, MM, VA, VA + PAGE, 3);
    checker.cpuPteChanged(MM, VA, pfn, NO_PFN, true, false);
    mem.put(pfn); // the address space's reference

    mem.deviceWriteLong(RC, op, MM, VA + 8, pfn, 2);
    assertThat(mem.deviceReadLong(RC, op, MM, VA, pfn)).isEqualTo(1);

    checker.assertClean();
    assertThat(mem.state(pfn)).as("the pin keeps the frame").isEqualTo(FrameState.ALLOCATED);
  }

  @Test
  void newOperation_onAnInvalidatedEntry_isAStaleUse() {
    checker.invalidateCallbackReturned(RC, MM, VA, VA + PAGE, 3);
    long op = checker.beginOperation(RC);

    mem.deviceReadLong(RC, op, MM, VA, pfn);

    Violation v = checker.violations().get(0);
    assertThat(checker.violations()).hasSize(1);
    assertThat(v.kind()).isEqualTo(ViolationKind.STALE_USE);
    assertThat(v.deviceId()).isEqualTo(RC);
    assertThat(v.pfn()).isEqualTo(pfn);
    assertThat(v.va()).isEqualTo(VA);
    assertThat(v.message()).contains("new use of an invalidated entry");
    assertThat(v.trace())
        .anyMatch(e -> e.contains("callbackReturned " + RC))
        .anyMatch(e -> e.contains("beginOperation " + RC));
  }

  @Test
  void accessWithoutOperation_onAnInvalidatedEntry_isAStaleUse() {
    checker.invalidateCallbackReturned(RC, MM, VA, VA + PAGE, 3);

    mem.deviceReadByte(RC, NO_OP, MM, VA, pfn);

    assertThat(checker.violations(ViolationKind.STALE_USE)).hasSize(1);
  }

  @Test
  void newOperation_onAnEntryTheCpuMovedAwayFromWithoutInvalidation_isAStaleUse()
      throws ErrnoException {
    // The legacy race: the entry was filled after the callback, so nothing invalidated it.
    long inFlight = checker.beginOperation(RC);
    long other = mem.alloc("cow");
    checker.cpuPteChanged(MM, VA, pfn, other, true, true);
    mem.deviceReadLong(RC, inFlight, MM, VA, pfn);
    checker.assertClean();

    long op = checker.beginOperation(RC);
    mem.deviceReadLong(RC, op, MM, VA, pfn);

    assertThat(checker.violations(ViolationKind.STALE_USE)).hasSize(1);
    assertThat(checker.violations().get(0).message()).contains("operation begun at #" + op);
  }

  @Test
  void writeToReadOnlyCpuEntry_isNotAPermissionViolationForACache() {
    checker.cpuPteChanged(MM, VA, pfn, pfn, true, false); // fork write-protect

    mem.deviceWriteLong(RC, checker.beginOperation(RC), MM, VA, pfn, 9);

    checker.assertClean();
  }

  @Test
  void pinnedFrame_isNeverFreedWhilePinned_andUseAfterUnpinIsReported() {
    mem.put(pfn);
    assertThat(mem.state(pfn)).isEqualTo(FrameState.ALLOCATED);
    long op = checker.beginOperation(RC);
    mem.deviceWriteLong(RC, op, MM, VA, pfn, 1);
    checker.assertClean();

    mem.unpin(pfn); // the driver drops the pin while the operation still runs
    mem.deviceWriteLong(RC, op, MM, VA, pfn, 2);

    assertThat(mem.state(pfn)).isEqualTo(FrameState.FREED);
    assertThat(checker.violations(ViolationKind.USE_AFTER_FREE)).hasSize(1);
    assertThat(checker.violations().get(0).trace()).anyMatch(e -> e.contains("frameFreed"));
    assertThat(mem.rawReadLong(pfn, 0)).isEqualTo(PhysicalMemory.POISON);
  }

  @Test
  void reallocatedFrame_throughAnInFlightOperation_isAUseAfterFree() throws ErrnoException {
    long op = checker.beginOperation(RC);
    mem.put(pfn);
    mem.unpin(pfn);
    long reused = mem.alloc("another process");
    assertThat(reused).isEqualTo(pfn);

    mem.deviceReadLong(RC, op, MM, VA, pfn);

    assertThat(checker.violations(ViolationKind.USE_AFTER_FREE)).hasSize(1);
    assertThat(checker.violations().get(0).message()).contains("another process");
  }

  @Test
  void lifetimeAndIsolation_stillApply() throws ErrnoException {
    checker.attachDomain(RC);
    checker.domainMap(RC, pfn);
    long op = checker.beginOperation(RC);
    mem.deviceReadLong(RC, op, MM, VA, pfn);
    long outside = mem.alloc("outside");
    mem.deviceReadLong(RC, op, MM, VA + PAGE, outside);
    assertThat(checker.violations(ViolationKind.ISOLATION)).hasSize(1);

    checker.deviceTornDown(RC);
    mem.deviceReadLong(RC, op, MM, VA, pfn);

    assertThat(checker.violations(ViolationKind.LIFETIME)).hasSize(1);
  }
}
