package io.mmulab.sim.xen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The hypervisor's grant tables, map and unmap hypercalls and accesses, and the checker's
 * shadow-PTE rules for grant mappings.
 */
class XenHypervisorTest {
  private static final long PAGE = PhysicalMemory.PAGE_SIZE;
  private static final int PEER = 1;

  private final CoherencyChecker checker = new CoherencyChecker();
  private final PhysicalMemory memory = new PhysicalMemory(RealSyncRuntime.get(), 256, checker);
  private final SimMachine machine = new SimMachine(RealSyncRuntime.get(), memory);
  private final SimProcess proc = machine.spawnProcess("p");
  private final XenHypervisor xen = machine.xen();
  private long va;

  XenHypervisorTest() throws ErrnoException {
    va =
        proc.mmap(
            0, 2 * PAGE, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    proc.store(va, 41);
    proc.store(va + PAGE, 42);
  }

  /** The peer grants the frame of the slot and the map hypercall writes it there. */
  private long map(long slot, boolean readOnly) throws ErrnoException {
    int ref = xen.grantForeignAccess(PEER, proc.pte(slot).pfn(), readOnly);
    proc.mm().mmapLock().downWrite();
    try {
      return xen.mapGrant("gnt", proc, slot, PEER, ref, readOnly);
    } finally {
      proc.mm().mmapLock().upWrite();
    }
  }

  @Test
  void mapGrant_accessesReachTheFrame_andUnmapEndsThem() throws ErrnoException {
    long h = map(va, false);
    assertThat(xen.readLong(h, va)).isEqualTo(41);
    xen.writeLong(h, va, 43);
    assertThat(proc.load(va)).isEqualTo(43);
    assertThat(xen.mappedInto(proc)).isEqualTo(1);

    xen.unmapGrant("gnt", h);

    assertThat(xen.mappedInto(proc)).isZero();
    assertThatThrownBy(() -> xen.readLong(h, va)).isInstanceOf(ErrnoException.class);
    assertThat(checker.violations()).isEmpty();
  }

  @Test
  void readOnlyGrant_refusesWrites_andAWritableMappingOfIt() throws ErrnoException {
    long h = map(va, true);
    assertThatThrownBy(() -> xen.writeLong(h, va, 1)).isInstanceOf(ErrnoException.class);
    int ref = xen.grantForeignAccess(PEER, proc.pte(va + PAGE).pfn(), true);
    proc.mm().mmapLock().downWrite();
    try {
      assertThatThrownBy(() -> xen.mapGrant("gnt", proc, va + PAGE, PEER, ref, false))
          .isInstanceOf(ErrnoException.class)
          .hasMessageContaining("read-only");
    } finally {
      proc.mm().mmapLock().upWrite();
    }
  }

  @Test
  void mapGrant_withoutTheMmapLock_isRefused() {
    int ref = xen.grantForeignAccess(PEER, proc.pte(va).pfn(), false);
    assertThatThrownBy(() -> xen.mapGrant("gnt", proc, va, PEER, ref, false))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("mmap lock");
  }

  @Test
  void unmappingTwice_isALifetimeViolation_everyGrantIsUnmappedOnce() throws ErrnoException {
    long h = map(va, false);
    xen.unmapGrant("gnt", h);
    assertThatThrownBy(() -> xen.unmapGrant("gnt", h)).isInstanceOf(ErrnoException.class);
    assertThat(checker.violations())
        .extracting(Violation::kind)
        .containsExactly(ViolationKind.LIFETIME);
  }

  @Test
  void callbackReturningWithTheGrantMapped_isStaleUse_unlessItsUnmapIsQueued()
      throws ErrnoException {
    long kept = map(va, false);
    long queued = map(va + PAGE, false);
    long[] pfn = new long[1];
    proc.mm().mmapLock().downRead();
    try {
      proc.mm().getUserPages(va + PAGE, 1, Gup.FOLL_PIN, pfn); // another driver uses the page
    } finally {
      proc.mm().mmapLock().upRead();
    }
    AtomicBoolean done = new AtomicBoolean();
    assertThat(xen.unmapGrantAsync("gnt", queued, () -> done.set(true))).isFalse();
    assertThat(xen.unmapPending(queued)).isTrue();

    checker.invalidateCallbackReturned("gnt", proc.mm().name(), va, va + 2 * PAGE, 1);

    assertThat(checker.violations()).hasSize(1);
    assertThat(checker.violations().get(0).kind()).isEqualTo(ViolationKind.STALE_USE);
    assertThat(checker.violations().get(0).message()).contains("handle " + kept);

    memory.unpin(pfn[0]); // the pin goes: the queued unmap completes on the worker
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (!done.get() && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(done).isTrue();
    assertThat(xen.unmapPending(queued)).isFalse();
  }

  @Test
  void cpuEntryChangingUnderAMappedGrant_isStaleUse() throws ErrnoException {
    map(va, false);
    // an munmap whose invalidation never reached the grant device
    proc.munmap(va, PAGE);
    assertThat(checker.violations())
        .anyMatch(
            v ->
                v.kind() == ViolationKind.STALE_USE
                    && v.message().contains("changed to -1 under grant handle"));
  }

  @Test
  void grantLeftMappedAtTeardown_isALifetimeViolation() throws ErrnoException {
    map(va, false);
    checker.deviceTornDown("gnt");
    assertThat(checker.violations())
        .extracting(Violation::kind)
        .containsExactly(ViolationKind.LIFETIME);
  }

  @Test
  void deviceIds_areNumberedPerMachine() {
    assertThat(xen.nextDeviceId("gntdev")).isEqualTo("gntdev0");
    assertThat(xen.nextDeviceId("gntdev")).isEqualTo("gntdev1");
    assertThat(new SimMachine(RealSyncRuntime.get(), 16).xen().nextDeviceId("gntdev"))
        .isEqualTo("gntdev0");
  }
}
