package io.mmulab.driver.scif;

import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.driver.SimDriverFactory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The SCIF driver: {@link DriverVariant#LEGACY} ({@link ScifLegacyCache}) and {@link
 * DriverVariant#CONSOLIDATED} ({@link ScifConsolidatedCache}, hypothetical: the kernel removed SCIF
 * before converting it). Registration-cache model: windows pin their pages; a copy in flight may
 * finish on a window an invalidation unlinked, a new copy may not use it.
 */
public final class ScifFactory extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "scif";

  /**
   * The legacy copy path's race: on a miss it drops {@code tc_lock}, pins the pages and inserts the
   * new window afterwards with no check in between, so an invalidation that walks the list in that
   * gap never reaches the window, and later copies use pages the CPU no longer maps there ({@code
   * STALE_USE}), or, after {@code mprotect(PROT_READ)}, write through a window pinned for write
   * into pages the CPU made read-only (the scenario's {@code PERMISSION} expectation: the frame is
   * the same, so only the write shows it). Harmless in {@code fork-cow-writable}: fork copies
   * pinned pages for the child, so a window that missed its invalidation still maps what the parent
   * maps; after an exit, copies fail before they look a window up.
   */
  public static final DeclaredRace PIN_THEN_INSERT =
      new DeclaredRace(
          "pin-then-insert",
          List.of(
              "munmap-vs-fault",
              "overlapping-invalidations",
              "mprotect-during-write-fault",
              "migrate-during-dma",
              "oom-reap-during-fault",
              "munmap-zap-vs-fault",
              "remap-while-cached",
              "fork-cow-writable"),
          Set.of(ViolationKind.STALE_USE, ViolationKind.PERMISSION),
          "Card copy: a cache miss drops tc_lock and pins page P (GUP); CPU: munmap, migrate,"
              + " MADV_DONTNEED or the OOM reaper starts its invalidation, the callback walks the"
              + " window list (the new window is not on it yet) and the PTE of P changes; card"
              + " copy: takes tc_lock, inserts the window over the old frame; this and every later"
              + " copy through it moves data to or from a frame the CPU no longer maps at P, or"
              + " writes a page the CPU made read-only.");

  /** Describes the driver. */
  public ScifFactory() {
    super(
        NAME,
        DriverFamily.RDMA,
        CoherencyModel.REGISTRATION_CACHE,
        Map.of(
            DriverVariant.LEGACY, List.of(PIN_THEN_INSERT), DriverVariant.CONSOLIDATED, List.of()));
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine) {
    return new ScifEndpoint(variant, process, machine);
  }
}
