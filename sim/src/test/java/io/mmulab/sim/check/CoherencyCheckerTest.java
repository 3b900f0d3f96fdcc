package io.mmulab.sim.check;

import static io.mmulab.sim.check.CoherencyChecker.NO_OP;
import static io.mmulab.sim.check.CoherencyChecker.NO_PFN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every rule of the checker, each with a planted failure (the smallest event sequence that breaks
 * it) and the correct sequences that must stay clean.
 */
class CoherencyCheckerTest {
  private static final String DEV = "gpu0";
  private static final String SUB = "gpu0.sub";
  private static final String MM = "mm#1";
  private static final long PAGE = 0x1000;
  private static final long VA = 0x10000;
  private static final long A = 5;
  private static final long B = 6;

  private final CoherencyChecker checker = new CoherencyChecker(16, 100);

  /** Frame {@code pfn} allocated as generation 1 and mapped by the CPU at {@code va}. */
  private void cpuFaultIn(long va, long pfn, boolean writable) {
    checker.frameAllocated(pfn, 1, "anon");
    checker.cpuPteChanged(MM, va, NO_PFN, pfn, false, writable);
  }

  /** The invalidate callback of a correct shadow-PTE driver: zap, then return. */
  private void correctCallback(long start, long end, long seq) {
    checker.invalidateCallbackEntered(DEV, SUB, MM, start, end);
    checker.deviceUnmappedRange(DEV, MM, start, end);
    checker.invalidateCallbackReturned(DEV, SUB, MM, start, end, seq);
  }

  private Violation only(ViolationKind kind) {
    assertThat(checker.violations()).as("violations").hasSize(1);
    Violation v = checker.violations().get(0);
    assertThat(v.kind()).isEqualTo(kind);
    return v;
  }

  // ---------------------------------------------------------------------------------------------
  // Correct sequences

  @Test
  void collisionRetryPattern_munmapThenRefault_isClean() {
    cpuFaultIn(VA, A, true);
    checker.subscriptionInserted(DEV, SUB, MM, 0, 0x100000);
    // Fault side: lookup, lock, retry check passes, program; then DMA.
    checker.deviceMapped(DEV, MM, VA, A, true);
    checker.deviceAccess(DEV, MM, VA, A, false);
    checker.deviceAccess(DEV, MM, VA + 8, A, true);
    // munmap: callback zaps and returns, then the CPU entry goes and the frame is freed.
    correctCallback(VA, VA + PAGE, 3);
    checker.cpuPteChanged(MM, VA, A, NO_PFN, true, false);
    checker.frameFreed(A, 1);
    // The pfn is reused for a new mapping of the same address, mapped fresh after the callback.
    checker.frameAllocated(A, 2, "anon");
    checker.cpuPteChanged(MM, VA, NO_PFN, A, false, true);
    checker.deviceMapped(DEV, MM, VA, A, true);
    checker.deviceAccess(DEV, MM, VA, A, true);
    // Teardown: remove, zap, gone; nothing accesses afterwards.
    checker.subscriptionRemoved(DEV, SUB);
    checker.deviceUnmappedRange(DEV, MM, 0, 0x100000);
    checker.deviceTornDown(DEV);

    assertThat(checker.isClean()).isTrue();
    checker.assertClean();
    assertThat(checker.violationCount()).isZero();
  }

  @Test
  void collisionRetryPattern_forkCowAndMigration_isClean() {
    cpuFaultIn(VA, A, true);
    checker.deviceMapped(DEV, MM, VA, A, true);
    // fork write-protects: callback first, then the entry turns read-only.
    correctCallback(VA, VA + PAGE, 3);
    checker.cpuPteChanged(MM, VA, A, A, true, false);
    checker.deviceMapped(DEV, MM, VA, A, false);
    checker.deviceAccess(DEV, MM, VA, A, false);
    // The CPU writes: copy-on-write moves the address to frame B.
    correctCallback(VA, VA + PAGE, 5);
    checker.frameAllocated(B, 1, "cow");
    checker.cpuPteChanged(MM, VA, A, B, false, true);
    checker.deviceMapped(DEV, MM, VA, B, true);
    checker.deviceAccess(DEV, MM, VA, B, true);
    // Case 3 of "The race it closes" (docs/notifier.md): the fault side programs while the callback
    // waits for the lock; the callback
    // then zaps what was just programmed.
    checker.invalidateCallbackEntered(DEV, SUB, MM, VA, VA + PAGE);
    checker.deviceMapped(DEV, MM, VA, B, true);
    checker.deviceUnmapped(DEV, MM, VA);
    checker.invalidateCallbackReturned(DEV, SUB, MM, VA, VA + PAGE, 7);
    checker.cpuPteChanged(MM, VA, B, NO_PFN, true, false);
    checker.frameFreed(B, 1);

    checker.assertClean();
  }

  @Test
  void fenceWait_liveButInvalidatedTranslationThatIsNeverUsed_isClean() {
    checker.declareDevice(DEV, CoherencyModel.FENCE_WAIT);
    cpuFaultIn(VA, A, true);
    checker.deviceMapped(DEV, MM, VA, A, true);
    long job = checker.beginOperation(DEV);
    checker.deviceAccess(DEV, job, MM, VA, A, true);
    // The callback waits for the job's fence and returns; the GPU VM entry stays until
    // revalidation.
    checker.invalidateCallbackReturned(DEV, MM, VA, VA + PAGE, 3);
    checker.cpuPteChanged(MM, VA, A, NO_PFN, true, false);
    checker.frameFreed(A, 1);

    checker.assertClean();
  }

  // ---------------------------------------------------------------------------------------------
  // STALE_USE

  @Test
  void staleUse_accessAfterCallbackReturned_isReported() {
    cpuFaultIn(VA, A, true);
    checker.deviceMapped(DEV, MM, VA, A, true);
    checker.invalidateCallbackReturned(DEV, SUB, MM, VA, VA + PAGE, 3); // forgot to zap

    checker.deviceAccess(DEV, MM, VA + 16, A, false);

    Violation v = only(ViolationKind.STALE_USE);
    assertThat(v.deviceId()).isEqualTo(DEV);
    assertThat(v.mm()).isEqualTo(MM);
    assertThat(v.va()).isEqualTo(VA + 16);
    assertThat(v.pfn()).isEqualTo(A);
    assertThat(v.message()).contains("invalidated by a callback");
    assertThat(v.trace())
        .anyMatch(e -> e.contains("deviceMapped " + DEV))
        .anyMatch(e -> e.contains("callbackReturned " + DEV))
        .last()
        .asString()
        .contains("deviceAccess " + DEV);
  }

  @Test
  void staleUse_unflushedTlbAfterZap_isReported() {
    cpuFaultIn(VA, A, true);
    checker.deviceMapped(DEV, MM, VA, A, true);
    correctCallback(VA, VA + PAGE, 3);

    checker.deviceAccess(DEV, MM, VA, A, false); // a TLB entry survived the zap

    Violation v = only(ViolationKind.STALE_USE);
    assertThat(v.message()).contains("unmapped at");
  }

  @Test
  void staleUse_callbackOnOtherRangeOrDevice_doesNotInvalidate() {
    cpuFaultIn(VA, A, true);
    checker.deviceMapped(DEV, MM, VA, A, true);
    checker.invalidateCallbackReturned(DEV, MM, VA + PAGE, VA + 2 * PAGE, 3);
    checker.invalidateCallbackReturned("other", MM, VA, VA + PAGE, 3);
    checker.invalidateCallbackReturned(DEV, "mm#2", VA, VA + PAGE, 3);

    checker.deviceAccess(DEV, MM, VA, A, true);

    checker.assertClean();
  }

  @Test
  void staleUse_lookupAfterCallbackBeforePteChange_isReportedWhenThePteMoves() {
    // The legacy race (the classic notifier's, docs/notifier.md): the callback ran, the driver
    // looked the page up again
    // before the CPU entry changed and programmed the old frame; no further callback comes.
    cpuFaultIn(VA, A, true);
    checker.invalidateCallbackReturned(DEV, MM, VA, VA + PAGE, 3);
    checker.deviceMapped(DEV, MM, VA, A, true);
    assertThat(checker.isClean()).as("still accurate when mapped").isTrue();

    checker.cpuPteChanged(MM, VA, A, NO_PFN, true, false);

    Violation latent = only(ViolationKind.STALE_USE);
    assertThat(latent.message()).contains("never invalidated");
    assertThat(latent.pfn()).isEqualTo(A);
    assertThat(latent.trace().get(latent.trace().size() - 1)).contains("cpuPteChanged");

    checker.deviceAccess(DEV, MM, VA, A, false);

    assertThat(checker.violations(ViolationKind.STALE_USE)).hasSize(2);
    assertThat(checker.violations().get(1).message()).contains("CPU entry is none");
  }

  @Test
  void staleUse_mappingAFrameTheCpuNoLongerMaps_isReported() {
    cpuFaultIn(VA, A, true);
    checker.frameAllocated(B, 1, "migrate");
    checker.invalidateCallbackReturned(DEV, MM, VA, VA + PAGE, 3);
    checker.cpuPteChanged(MM, VA, A, B, true, true);

    checker.deviceMapped(DEV, MM, VA, A, true); // retry check skipped

    Violation v = only(ViolationKind.STALE_USE);
    assertThat(v.message()).contains("page lookup was stale").contains("pfn " + B);
    assertThat(v.va()).isEqualTo(VA);
  }

  @Test
  void staleUse_accessWithoutRecordedTranslationToAFrameTheCpuDoesNotMap_isReported() {
    cpuFaultIn(VA, A, true);
    checker.frameAllocated(B, 1, "other");

    checker.deviceAccess(DEV, MM, VA, B, false);

    assertThat(only(ViolationKind.STALE_USE).message()).contains("no recorded translation");
  }

  // ---------------------------------------------------------------------------------------------
  // PERMISSION

  @Test
  void permission_writeThroughReadOnlyTranslation_isReported() {
    cpuFaultIn(VA, A, true);
    checker.deviceMapped(DEV, MM, VA, A, false);

    checker.deviceAccess(DEV, MM, VA, A, true);

    Violation v = only(ViolationKind.PERMISSION);
    assertThat(v.deviceId()).isEqualTo(DEV);
    assertThat(v.pfn()).isEqualTo(A);
    assertThat(v.message()).contains("read-only");
    assertThat(v.trace()).anyMatch(e -> e.contains("deviceMapped") && e.contains(" ro"));
  }

  @Test
  void permission_writeWhereTheCpuEntryIsReadOnly_isReported() {
    cpuFaultIn(VA, A, false);

    checker.deviceAccess(DEV, MM, VA, A, true);

    assertThat(only(ViolationKind.PERMISSION).message()).contains("CPU entry is read-only");
  }

  @Test
  void permission_writableMappingOfReadOnlyCpuEntry_isReported() {
    cpuFaultIn(VA, PhysicalMemory.ZERO_PFN, false);

    checker.deviceMapped(DEV, MM, VA, PhysicalMemory.ZERO_PFN, true);

    Violation v = only(ViolationKind.PERMISSION);
    assertThat(v.message()).contains("writable");
    assertThat(v.pfn()).isEqualTo(PhysicalMemory.ZERO_PFN);
  }

  @Test
  void permission_cpuEntryLosesWriteWhileDeviceKeepsWritableTranslation_isReported() {
    cpuFaultIn(VA, A, true);
    checker.deviceMapped(DEV, MM, VA, A, true);

    checker.cpuPteChanged(MM, VA, A, A, true, false); // fork write-protect with no callback

    assertThat(only(ViolationKind.PERMISSION).message()).contains("becomes read-only");
  }

  // ---------------------------------------------------------------------------------------------
  // LIFETIME

  @Test
  void lifetime_callbackAfterRemoveReturned_isReported() {
    checker.subscriptionInserted(DEV, SUB, MM, 0, 0x100000);
    checker.subscriptionRemoved(DEV, SUB);

    checker.invalidateCallbackEntered(DEV, SUB, MM, VA, VA + PAGE);
    checker.invalidateCallbackReturned(DEV, SUB, MM, VA, VA + PAGE, 3);

    List<Violation> vs = checker.violations(ViolationKind.LIFETIME);
    assertThat(vs).hasSize(2);
    assertThat(vs.get(0).deviceId()).isEqualTo(DEV);
    assertThat(vs.get(0).va()).isEqualTo(VA);
    assertThat(vs.get(0).message()).contains("after its remove() returned");
    assertThat(vs.get(0).trace()).anyMatch(e -> e.contains("subscriptionRemoved " + DEV));
  }

  @Test
  void lifetime_unnamedCallbackAfterAllSubscriptionsRemoved_isReported() {
    checker.subscriptionRemoved(DEV);

    checker.invalidateCallbackReturned(DEV, MM, VA, VA + PAGE, 3);

    assertThat(only(ViolationKind.LIFETIME).message()).contains("all subscriptions");
  }

  @Test
  void lifetime_accessThroughTornDownDevice_isReported() {
    cpuFaultIn(VA, A, true);
    checker.deviceMapped(DEV, MM, VA, A, true);
    checker.deviceTornDown(DEV);

    checker.deviceAccess(DEV, MM, VA, A, false);

    Violation v = only(ViolationKind.LIFETIME);
    assertThat(v.message()).contains("torn down");
    assertThat(v.va()).isEqualTo(VA);
    assertThat(v.trace()).anyMatch(e -> e.contains("deviceTornDown " + DEV));
  }

  @Test
  void lifetime_callbackAndMappingOnTornDownDevice_areReported() {
    checker.deviceTornDown(DEV);

    checker.invalidateCallbackReturned(DEV, MM, VA, VA + PAGE, 3);
    checker.deviceMapped(DEV, MM, VA, A, false);
    checker.domainMap(DEV, A);

    assertThat(checker.violations(ViolationKind.LIFETIME)).hasSize(3);
  }

  @Test
  void lifetime_accessToAnAddressWhoseSubscriptionWasRemoved_isReported() {
    cpuFaultIn(VA, A, true);
    checker.subscriptionInserted(DEV, SUB, MM, VA, VA + PAGE);
    checker.subscriptionInserted(DEV, "elsewhere", MM, VA + PAGE, VA + 2 * PAGE);
    checker.deviceMapped(DEV, MM, VA, A, true);
    checker.subscriptionRemoved(DEV, SUB);

    checker.deviceAccess(DEV, MM, VA, A, false);

    Violation v = only(ViolationKind.LIFETIME);
    assertThat(v.message()).contains("subscription " + SUB);
  }

  @Test
  void declareDevice_afterTeardown_startsANewDevice() {
    checker.deviceTornDown(DEV);
    checker.declareDevice(DEV, CoherencyModel.SHADOW_PTE);
    cpuFaultIn(VA, A, true);

    checker.deviceMapped(DEV, MM, VA, A, true);
    checker.deviceAccess(DEV, MM, VA, A, true);

    checker.assertClean();
  }

  // ---------------------------------------------------------------------------------------------
  // USE_AFTER_FREE

  @Test
  void useAfterFree_accessToFreedFrame_isReported() {
    checker.frameAllocated(A, 1, "anon");
    checker.deviceMapped(DEV, MM, VA, A, true);
    checker.frameFreed(A, 1);

    checker.deviceAccess(DEV, MM, VA, A, true);

    Violation v = only(ViolationKind.USE_AFTER_FREE);
    assertThat(v.pfn()).isEqualTo(A);
    assertThat(v.deviceId()).isEqualTo(DEV);
    assertThat(v.trace()).anyMatch(e -> e.contains("frameFreed pfn=" + A));
  }

  @Test
  void useAfterFree_reallocatedFrameThroughOldTranslation_isReported() {
    checker.frameAllocated(A, 1, "anon");
    checker.deviceMapped(DEV, MM, VA, A, true);
    checker.frameFreed(A, 1);
    checker.frameAllocated(A, 2, "someone else");

    checker.deviceAccess(DEV, MM, VA, A, false);

    Violation v = only(ViolationKind.USE_AFTER_FREE);
    assertThat(v.message()).contains("gen 1").contains("gen 2").contains("someone else");
  }

  @Test
  void useAfterFree_mappingAFreedFrame_isReported() {
    checker.frameAllocated(A, 1, "anon");
    checker.frameFreed(A, 1);

    checker.deviceMapped(DEV, MM, VA, A, false);
    checker.domainMap(DEV, A);

    assertThat(checker.violations(ViolationKind.USE_AFTER_FREE)).hasSize(2);
  }

  @Test
  void useAfterFree_cpuAndKernelAccessToFreedFrame_areReported() {
    checker.frameAllocated(A, 1, "anon");
    checker.cpuAccess(MM, VA, A, true);
    checker.kernelAccess("copy", A, false);
    checker.assertClean();
    checker.frameFreed(A, 1);

    checker.cpuAccess(MM, VA, A, false);
    checker.kernelAccess("copy", A, false);

    assertThat(checker.violations(ViolationKind.USE_AFTER_FREE))
        .extracting(Violation::deviceId)
        .containsExactly(CoherencyChecker.CPU, CoherencyChecker.KERNEL);
  }

  // ---------------------------------------------------------------------------------------------
  // ISOLATION

  @Test
  void isolation_accessToFrameOutsideTheDomain_isReported() {
    checker.frameAllocated(A, 1, "anon");
    checker.frameAllocated(B, 1, "anon");
    checker.domainMap(DEV, A);
    checker.deviceAccess(DEV, MM, VA, A, false);
    checker.assertClean();

    checker.deviceAccess(DEV, MM, VA + PAGE, B, false);

    Violation v = only(ViolationKind.ISOLATION);
    assertThat(v.pfn()).isEqualTo(B);
    assertThat(v.va()).isEqualTo(VA + PAGE);
    assertThat(v.trace()).anyMatch(e -> e.contains("domainMap " + DEV + " pfn=" + A));
  }

  @Test
  void isolation_emptyAttachedDomainAndUnmappedFrame_areReported() {
    checker.attachDomain(DEV);
    checker.deviceAccess(DEV, MM, VA, A, false);
    checker.domainMap(DEV, A);
    checker.domainMap(DEV, A);
    checker.domainUnmap(DEV, A);
    checker.deviceAccess(DEV, MM, VA, A, false); // one mapping left
    checker.domainUnmap(DEV, A);

    checker.deviceAccess(DEV, MM, VA, A, false);

    assertThat(checker.violations(ViolationKind.ISOLATION)).hasSize(2);
    assertThatThrownBy(() -> checker.domainUnmap(DEV, A)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void isolation_deviceWithoutDomain_reachesAnyFrame() {
    checker.deviceAccess(DEV, MM, VA, A, false);
    checker.assertClean();
  }

  @Test
  void isolation_domainMappingOfAnEarlierGeneration_isAUseAfterFree() {
    checker.frameAllocated(A, 1, "anon");
    checker.domainMap(DEV, A);
    checker.frameFreed(A, 1);
    checker.frameAllocated(A, 2, "reused");

    checker.deviceAccess(DEV, MM, VA, A, true);

    assertThat(only(ViolationKind.USE_AFTER_FREE).message()).contains("IOMMU");
  }

  // ---------------------------------------------------------------------------------------------
  // Queries, trace, bad input

  @Test
  void trace_isBoundedAndEndsWithTheTriggeringEvent() {
    CoherencyChecker small = new CoherencyChecker(3, 10);
    for (int i = 0; i < 10; i++) {
      small.declareDevice("d" + i, CoherencyModel.SHADOW_PTE);
    }
    small.deviceTornDown(DEV);

    small.deviceAccess(DEV, MM, VA, A, false);

    Violation v = small.violations().get(0);
    assertThat(v.trace()).hasSize(3);
    assertThat(v.trace().get(0)).contains("declareDevice d9");
    assertThat(v.trace().get(2)).startsWith("#12 deviceAccess");
    assertThat(small.trace()).hasSize(3);
  }

  @Test
  void assertClean_listsEveryViolationWithItsTrace() {
    checker.deviceTornDown(DEV);
    checker.deviceAccess(DEV, MM, VA, A, false);
    checker.attachDomain("iso");
    checker.deviceAccess("iso", MM, VA, A, false);

    assertThatThrownBy(checker::assertClean)
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("2 coherency violation(s)")
        .hasMessageContaining("LIFETIME by " + DEV)
        .hasMessageContaining("ISOLATION by iso")
        .hasMessageContaining("deviceTornDown " + DEV);
    assertThat(checker.isClean()).isFalse();
  }

  @Test
  void reset_forgetsViolationsButKeepsTheModel() {
    cpuFaultIn(VA, A, true);
    checker.deviceMapped(DEV, MM, VA, A, true);
    checker.invalidateCallbackReturned(DEV, MM, VA, VA + PAGE, 3);
    checker.deviceAccess(DEV, MM, VA, A, false);
    assertThat(checker.isClean()).isFalse();

    checker.reset();
    assertThat(checker.isClean()).isTrue();
    assertThat(checker.trace()).isEmpty();

    checker.deviceAccess(DEV, MM, VA, A, false);
    assertThat(only(ViolationKind.STALE_USE).trace()).hasSize(1);
  }

  @Test
  void violations_beyondTheLimit_areCountedNotStored() {
    CoherencyChecker capped = new CoherencyChecker(4, 2);
    capped.deviceTornDown(DEV);
    for (int i = 0; i < 5; i++) {
      capped.deviceAccess(DEV, MM, VA, A, false);
    }

    assertThat(capped.violations()).hasSize(2);
    assertThat(capped.violationCount()).isEqualTo(5);
    assertThatThrownBy(capped::assertClean)
        .hasMessageContaining("5 coherency violation(s) (2 kept)");
  }

  @Test
  void inconsistentSimulatorInput_isRejected() {
    cpuFaultIn(VA, A, true);
    assertThatThrownBy(() -> checker.cpuPteChanged(MM, VA, B, NO_PFN, true, false))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("recorded entry is pfn " + A);
    assertThatThrownBy(() -> checker.frameAllocated(A, 2, "twice"))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> checker.frameFreed(A, 7)).isInstanceOf(IllegalStateException.class);
    checker.frameFreed(A, 1);
    assertThatThrownBy(() -> checker.frameFreed(A, 1)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> checker.frameAllocated(A, 1, "old gen"))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> checker.invalidateCallbackReturned(DEV, MM, VA, VA, 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> checker.deviceAccess(DEV, 10_000, MM, VA, A, false))
        .isInstanceOf(IllegalArgumentException.class);
    checker.deviceMapped(DEV, MM, VA, B, false);
    assertThatThrownBy(() -> checker.declareDevice(DEV, CoherencyModel.REGISTRATION_CACHE))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void pageShift_matchesPhysicalMemory() {
    assertThat(CoherencyChecker.PAGE_SHIFT).isEqualTo(PhysicalMemory.PAGE_SHIFT);
  }

  @Test
  void concurrentReporters_areAllCounted() throws InterruptedException {
    checker.deviceTornDown(DEV);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread th =
          new Thread(
              () -> {
                for (int i = 0; i < 500; i++) {
                  checker.deviceAccess(DEV, NO_OP, MM, VA + i * PAGE, A, false);
                  checker.cpuAccess(MM, VA, A, false);
                }
              });
      threads.add(th);
      th.start();
    }
    for (Thread th : threads) {
      th.join();
    }

    assertThat(checker.violationCount()).isEqualTo(2000);
    assertThat(checker.violations()).hasSize(100);
  }
}
