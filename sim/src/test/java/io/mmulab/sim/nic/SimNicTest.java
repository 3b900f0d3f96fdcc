package io.mmulab.sim.nic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DmaCommand;
import io.mmulab.sim.dev.DmaJob;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Madvise;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The simulated NIC on real threads: regions, UMRs, work requests, ODP faults, implicit MRs. */
class SimNicTest {
  private static final long PAGE = AddressSpace.PAGE_SIZE;

  private final CoherencyChecker checker = new CoherencyChecker();
  private final SimMachine machine =
      new SimMachine(
          RealSyncRuntime.get(), new PhysicalMemory(RealSyncRuntime.get(), 256, checker));
  private final SimProcess proc = machine.spawnProcess("app");
  private final SimNic nic = new SimNic(machine, "mlx5_0");
  private final AtomicInteger faults = new AtomicInteger();

  @AfterEach
  void shutdown() {
    nic.shutdown();
  }

  private long populated(int pages) throws ErrnoException {
    long base =
        proc.mmap(
            0,
            pages * PAGE,
            Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    for (int i = 0; i < pages; i++) {
      proc.store(base + i * PAGE, 100 + i);
    }
    return base;
  }

  /** The ODP pattern without its invalidation half: GUP, DMA-map, UMR, drop the reference. */
  private void resolve(NicPageFault f, NicMr mr) throws ErrnoException {
    faults.incrementAndGet();
    long[] pfns = new long[1];
    proc.mm().mmapLock().downRead();
    try {
      proc.mm().getUserPages(f.pageAddress(), 1, Gup.FOLL_WRITE, pfns);
    } finally {
      proc.mm().mmapLock().upRead();
    }
    mr.umrUpdate(f.pageAddress(), nic.dmaMap(pfns[0]), true);
    machine.memory().put(pfns[0]);
  }

  private static long[] run(DmaJob job) throws ErrnoException {
    job.fence().waitSignaled();
    if (job.error() != null) {
      throw job.error();
    }
    return job.commands().get(0).kind() == DmaCommand.Kind.READ ? job.readResult(0) : null;
  }

  @Test
  void faultedAccess_stallsUntilResolved_thenReadsAndWritesTheCpuFrames() throws ErrnoException {
    long base = populated(2);
    NicMr mr = nic.registerMr(proc.mm(), base, 2 * PAGE, true, CoherencyModel.SHADOW_PTE);
    nic.startPageFaultHandler(f -> resolve(f, (NicMr) f.mr()));
    assertThat(mr.mtt(base)).isEmpty();

    assertThat(run(nic.post(NicWorkRequest.rdmaRead(mr, base + PAGE, 1)))).containsExactly(101);
    run(nic.post(NicWorkRequest.rdmaWrite(mr, base + 8, new long[] {77})));

    assertThat(proc.load(base + 8)).isEqualTo(77);
    assertThat(faults).hasValue(2);
    assertThat(mr.mtt(base)).get().extracting(NicMttEntry::writable).isEqualTo(true);
    assertThat(mr.mmu().deviceId()).isEqualTo("mlx5_0.mr1");
    checker.assertClean();
  }

  @Test
  void entryNotZappedBeforeTheCpuFreesThePage_isAStaleUse() throws ErrnoException {
    long base = populated(1);
    NicMr mr = nic.registerMr(proc.mm(), base, PAGE, true, CoherencyModel.SHADOW_PTE);
    nic.startPageFaultHandler(f -> resolve(f, (NicMr) f.mr()));
    run(nic.post(NicWorkRequest.rdmaRead(mr, base, 1)));

    proc.madvise(base, PAGE, Madvise.DONTNEED); // nobody zaps the MTT

    run(nic.post(NicWorkRequest.rdmaRead(mr, base, 1)));
    assertThat(checker.violations(ViolationKind.STALE_USE)).isNotEmpty();
  }

  @Test
  void zappedEntry_faultsAgainOnTheNextAccess() throws ErrnoException {
    long base = populated(1);
    NicMr mr = nic.registerMr(proc.mm(), base, PAGE, true, CoherencyModel.SHADOW_PTE);
    nic.startPageFaultHandler(f -> resolve(f, (NicMr) f.mr()));
    run(nic.post(NicWorkRequest.rdmaRead(mr, base, 1)));
    long dma = mr.mtt(base).orElseThrow().dmaAddress();

    assertThat(mr.umrZap(0, -1)).isEqualTo(1);
    nic.dmaUnmap(dma);

    assertThat(mr.mtt(base)).isEmpty();
    assertThat(nic.domain().mappedFrames()).isZero();
    assertThat(run(nic.post(NicWorkRequest.rdmaRead(mr, base, 1)))).containsExactly(100);
    assertThat(faults).hasValue(2);
    checker.assertClean();
  }

  @Test
  void abortedFault_failsItsWorkRequestWithEfault() throws ErrnoException {
    long base = populated(1);
    NicMr mr = nic.registerMr(proc.mm(), base, PAGE, false, CoherencyModel.SHADOW_PTE);
    nic.startPageFaultHandler(
        f -> {
          throw new ErrnoException(Errno.EFAULT, "no page for " + f);
        });

    DmaJob job = nic.post(NicWorkRequest.rdmaRead(mr, base, 1));

    assertThatThrownBy(() -> run(job))
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(Errno.EFAULT);
    checker.assertClean();
  }

  @Test
  void entryWhoseFrameIsNotDmaMapped_isBlockedAsAnIsolationViolation() throws ErrnoException {
    long base = populated(1);
    NicMr mr = nic.registerMr(proc.mm(), base, PAGE, true, CoherencyModel.SHADOW_PTE);
    long dma = nic.dmaMap(proc.pte(base).pfn());
    nic.dmaUnmap(dma);
    mr.umrUpdate(base, dma, true);

    DmaJob job = nic.post(NicWorkRequest.rdmaRead(mr, base, 1));

    assertThatThrownBy(() -> run(job)).isInstanceOf(ErrnoException.class);
    assertThat(checker.violations(ViolationKind.ISOLATION)).hasSize(1);
  }

  @Test
  void implicitMr_createsOneChildPerSpanOnDemand() throws ErrnoException {
    long span = 2 * PAGE;
    long base = populated(4);
    NicImplicitMr imr = nic.registerImplicitMr(proc.mm(), true, span);
    assertThat(imr.childSpan()).isEqualTo(span);
    nic.startPageFaultHandler(
        f -> {
          NicImplicitMr parent = (NicImplicitMr) f.mr();
          NicMr child =
              parent
                  .child(f.va())
                  .orElseGet(
                      () -> parent.createChild(f.va(), "child@" + parent.childStart(f.va())));
          resolve(f, child);
        });

    assertThat(run(nic.post(NicWorkRequest.rdmaRead(imr, base, 1)))).containsExactly(100);
    assertThat(run(nic.post(NicWorkRequest.rdmaRead(imr, base + 3 * PAGE, 1))))
        .containsExactly(103);

    assertThat(imr.children()).hasSize(base % span == 0 ? 2 : 3);
    NicMr first = imr.child(base).orElseThrow();
    assertThat(first.parent()).contains(imr);
    assertThat(first.mtt(base)).isPresent();
    assertThatThrownBy(() -> imr.createChild(base, null)).isInstanceOf(IllegalStateException.class);
    imr.destroyChild(first);
    assertThat(imr.child(base)).isEmpty();
    assertThat(first.mtt(base)).isEmpty();
    checker.assertClean();
  }

  @Test
  void badRequestsAndUmrs_areRefusedNamingTheValue() throws ErrnoException {
    long base = populated(1);
    NicMr ro = nic.registerMr(proc.mm(), base, PAGE, false, CoherencyModel.SHADOW_PTE);

    assertThatThrownBy(() -> nic.post(NicWorkRequest.rdmaRead(ro, base + PAGE, 1)))
        .isInstanceOf(ErrnoException.class)
        .hasMessageContaining("outside");
    assertThatThrownBy(() -> nic.post(NicWorkRequest.rdmaWrite(ro, base, new long[] {1})))
        .isInstanceOf(ErrnoException.class)
        .hasMessageContaining("read-only");
    assertThatThrownBy(() -> ro.umrUpdate(base, nic.dmaMap(1), true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("read-only");
    assertThatThrownBy(() -> ro.umrUpdate(base + PAGE, 1L << 12, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("outside");
    assertThatThrownBy(
            () -> nic.registerMr(proc.mm(), base + 1, PAGE, true, CoherencyModel.SHADOW_PTE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0x");

    nic.deregister(ro);
    assertThatThrownBy(() -> nic.post(NicWorkRequest.rdmaRead(ro, base, 1)))
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(Errno.EINVAL);
    assertThatThrownBy(() -> nic.deregister(ro)).isInstanceOf(IllegalArgumentException.class);
  }
}
