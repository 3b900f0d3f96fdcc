package io.mmulab.driver.vhost;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.driver.DeviceIds;
import io.mmulab.sim.driver.SimDriverFactory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The vhost metadata acceleration (5.3-rc1, reverted before 5.3): {@link DriverVariant#LEGACY}
 * ({@link VhostLegacy}, the merged design with its fixes) and {@link DriverVariant#CONSOLIDATED}
 * ({@link VhostConsolidated}, a hypothetical interval-notifier design: the kernel never converted
 * vhost). Shadow-PTE model without pins: a published map is valid only until the notifier says
 * otherwise.
 *
 * <p>The legacy variant's other two findings break no coherency rule, so they are not declared
 * races: the count left unbalanced by {@code SET_VRING_ADDR} turns the fast path off for good (a
 * liveness finding), and every non-blockable range is refused (the OOM reaper gives up). Each has
 * its own test; see {@code MIGRATION.md}.
 */
public final class VhostFactory extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "vhost";

  /** The worker's map load not ordered before its announcement to the callback. */
  public static final DeclaredRace READER_BEFORE_UNPUBLISH =
      new DeclaredRace(
          "reader-before-unpublish",
          List.of(
              "munmap-vs-fault",
              "overlapping-invalidations",
              "mprotect-during-write-fault",
              "fork-cow-writable",
              "migrate-during-dma",
              "exit-during-dma",
              "insert-remove-during-invalidation",
              "fence-never-signals",
              "munmap-zap-vs-fault",
              "remap-while-cached",
              "vma-split-under-grant",
              "nested-invalidation-vs-register"),
          Set.of(ViolationKind.USE_AFTER_FREE, ViolationKind.STALE_USE, ViolationKind.PERMISSION),
          "Worker: loads the ring's published map; its ref bump is not yet visible. CPU: munmap"
              + " starts its invalidation; the callback unpublishes the map, reads ref even, does"
              + " not wait and returns; the PTE goes and the page is freed (nothing pinned it)."
              + " Worker: bumps ref and accesses the ring through the map: a frame the CPU no"
              + " longer maps (STALE_USE), freed or reused when nothing else held it"
              + " (USE_AFTER_FREE), or written through a map the CPU made read-only (PERMISSION).");

  /** Describes the driver. */
  public VhostFactory() {
    super(
        NAME,
        DriverFamily.VIRTUALIZATION,
        CoherencyModel.SHADOW_PTE,
        Map.of(
            DriverVariant.LEGACY,
            List.of(READER_BEFORE_UNPUBLISH),
            DriverVariant.CONSOLIDATED,
            List.of()));
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine)
      throws ErrnoException {
    return new VhostAdapter(variant, DeviceIds.next(machine, NAME), process, machine);
  }
}
