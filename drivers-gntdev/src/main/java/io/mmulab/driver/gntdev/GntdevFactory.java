package io.mmulab.driver.gntdev;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.SimDriverFactory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Xen grant device: {@link DriverVariant#LEGACY} ({@link GntdevLegacy}), {@link
 * DriverVariant#AS_MERGED} ({@link GntdevAsMerged}) and {@link DriverVariant#CONSOLIDATED} ({@link
 * GntdevConsolidated}). Shadow-PTE model: the hypervisor holds the process's PTE slots, and the
 * callback must unmap the grants of the range before it returns (or queue their unmap, which then
 * completes before the slot takes another grant).
 */
public final class GntdevFactory extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "gntdev";

  /** The coherency model of every variant. */
  static final CoherencyModel MODEL = CoherencyModel.SHADOW_PTE;

  /**
   * The 2022 deadlock of the synchronous unmap (5.5 to 5.19), found by the {@code
   * cross-driver-deadlock} scenario of this module's tests, which pairs the grant device with a GPU
   * driver and so is not in the testkit's library. It is declared here for that scenario's
   * reproduction rather than by {@link #declaredRaces}, whose races the conformance suite looks for
   * in the library.
   */
  public static final DeclaredRace SYNC_UNMAP_DEADLOCK =
      new DeclaredRace(
          "sync-unmap-deadlock",
          "cross-driver-deadlock",
          Set.of(ViolationKind.DEADLOCK),
          "GPU: a userptr BO over a granted page is bound, its page pinned. CPU: munmap of that"
              + " page starts; the grant map's callback runs first and its synchronous unmap waits"
              + " until the page is no longer in use. The pin goes only when the BO's own callback"
              + " evicts it, next in the same invalidation, or when the GPU's next command"
              + " submission revalidates it, which waits for the invalidation to end: a cycle.");

  /**
   * Two invalidations of the same pages at once in the 5.5 driver: its callback reads and clears
   * each page's grant handle with no lock, so both unmap the same grant (the second hypercall finds
   * a handle that is gone).
   */
  public static final DeclaredRace DOUBLE_UNMAP =
      new DeclaredRace(
          "unlocked-double-unmap",
          List.of("overlapping-invalidations"),
          Set.of(ViolationKind.LIFETIME),
          "CPU A (migration, mmap lock read) and CPU B (MADV_DONTNEED, mmap lock read) invalidate"
              + " overlapping pages; both callbacks read a page's grant handle before either"
              + " clears it, both issue the unmap hypercall, and the second unmaps a handle that"
              + " is gone (a handle the hypervisor may have given to another mapping).");

  /** Describes the driver. */
  public GntdevFactory() {
    super(
        NAME,
        DriverFamily.XEN,
        MODEL,
        Map.of(
            DriverVariant.LEGACY,
            List.of(),
            DriverVariant.AS_MERGED,
            List.of(DOUBLE_UNMAP),
            DriverVariant.CONSOLIDATED,
            List.of()));
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine)
      throws ErrnoException {
    GntdevSimHypervisor hv = new GntdevSimHypervisor(machine);
    AddressSpace mm = process.addressSpace();
    SyncRuntime rt = machine.runtime();
    GntdevFile file =
        switch (variant) {
          case LEGACY -> new GntdevLegacy(hv.id, mm, rt, hv);
          case AS_MERGED -> new GntdevAsMerged(hv.id, mm, rt, hv);
          case CONSOLIDATED -> new GntdevConsolidated(hv.id, mm, rt, hv);
        };
    return new GntdevAdapter(file, hv, process, machine);
  }
}
