package io.mmulab.driver.radeon;

import io.mmulab.api.ErrnoException;
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
 * The radeon userptr driver: {@link DriverVariant#LEGACY} ({@link RadeonLegacy}), {@link
 * DriverVariant#AS_MERGED} ({@link RadeonAsMerged}) and {@link DriverVariant#CONSOLIDATED} ({@link
 * RadeonConsolidated}). Fence-wait model: the callback waits for the BO's jobs and unbinds it.
 */
public final class RadeonFactory extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "radeon";

  private static final String TIMELINE =
      "CPU: an mm operation starts its invalidation; the callback finds the userptr BO not bound"
          + " and skips it. GPU CS: in the window before the PTE change, GUP returns and pins the"
          + " old page, the CS binds it into the GART and queues its job. CPU: the PTE changes and"
          + " no end callback follows; the job (and every later one) uses the old page. When the"
          + " operation is an mprotect downgrade, the writable binding of a page the CPU made"
          + " read-only is a PERMISSION violation (seen by the real-thread stress run).";

  private static final String AS_MERGED_NOTE =
      " The 5.5 code keeps it (its FIXME): no set_seq, no read_begin/read_retry around GUP.";

  /**
   * The GUP-after-start race of the legacy driver (GUP before the callback, bind after it: the
   * callback skipped the still-unbound BO), in every scenario that shows it; in {@code
   * fork-cow-writable} the callback's unlocked is-bound test runs while the CS is binding.
   */
  public static final DeclaredRace GUP_AFTER_START_LEGACY =
      race(
          "gup-after-start",
          List.of(
              "munmap-vs-fault",
              "overlapping-invalidations",
              "migrate-during-dma",
              "fork-cow-writable",
              "munmap-zap-vs-fault",
              "remap-while-cached",
              "nested-invalidation-vs-register"),
          "");

  /**
   * The same race kept by the 5.5 conversion (its FIXME). In {@code fork-cow-writable} it is rare
   * (first at seed 847, 43 of seeds 1–20,000): two copy-on-write faults of the parent open two
   * windows on one page, and the CS pins and binds between the first one's PTE change and the
   * second one's return.
   */
  public static final DeclaredRace GUP_AFTER_START_AS_MERGED =
      race(
          "gup-after-start-fixme",
          List.of(
              "munmap-vs-fault",
              "overlapping-invalidations",
              "migrate-during-dma",
              "fork-cow-writable",
              "munmap-zap-vs-fault",
              "remap-while-cached",
              "nested-invalidation-vs-register"),
          AS_MERGED_NOTE);

  private static DeclaredRace race(String name, List<String> scenarios, String note) {
    return new DeclaredRace(
        name,
        scenarios,
        Set.of(ViolationKind.STALE_USE, ViolationKind.PERMISSION),
        TIMELINE + note);
  }

  /** Describes the driver. */
  public RadeonFactory() {
    super(
        NAME,
        DriverFamily.GPU,
        CoherencyModel.FENCE_WAIT,
        Map.of(
            DriverVariant.LEGACY,
            List.of(GUP_AFTER_START_LEGACY),
            DriverVariant.AS_MERGED,
            List.of(GUP_AFTER_START_AS_MERGED),
            DriverVariant.CONSOLIDATED,
            List.of()));
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine)
      throws ErrnoException {
    return new RadeonAdapter(variant, process, machine);
  }
}
