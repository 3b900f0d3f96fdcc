package io.mmulab.driver.radeon;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.api.driver.ViolationKind;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The radeon userptr driver: {@link DriverVariant#LEGACY} ({@link RadeonLegacy}), {@link
 * DriverVariant#AS_MERGED} ({@link RadeonAsMerged}) and {@link DriverVariant#CONSOLIDATED} ({@link
 * RadeonConsolidated}). Fence-wait model: the callback waits for the BO's jobs and unbinds it.
 */
public final class RadeonFactory implements DriverFactory {
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
   * The GUP-after-start race of the legacy driver, as munmap racing a CS shows it (GUP before the
   * callback, bind after it: the callback skipped the still-unbound BO).
   */
  public static final DeclaredRace GUP_AFTER_START_LEGACY =
      race("gup-after-start", "munmap-vs-fault", "");

  /** The same race kept by the 5.5 conversion (its FIXME). */
  public static final DeclaredRace GUP_AFTER_START_AS_MERGED =
      race("gup-after-start-fixme", "munmap-vs-fault", AS_MERGED_NOTE);

  /** Legacy: the race against migration (the spec's L1 script: GUP inside start..PTE change). */
  public static final DeclaredRace LEGACY_MIGRATE =
      race("gup-after-start/migrate", "migrate-during-dma", "");

  private static final List<DeclaredRace> LEGACY_RACES =
      List.of(
          GUP_AFTER_START_LEGACY,
          race("gup-after-start/overlapping", "overlapping-invalidations", ""),
          LEGACY_MIGRATE,
          race(
              "gup-after-start/fork",
              "fork-cow-writable",
              " Here the callback's unlocked is-bound test runs while the CS is binding."),
          race("gup-after-start/zap", "munmap-zap-vs-fault", ""));

  private static final List<DeclaredRace> AS_MERGED_RACES =
      List.of(
          GUP_AFTER_START_AS_MERGED,
          race("gup-after-start-fixme/overlapping", "overlapping-invalidations", AS_MERGED_NOTE),
          race("gup-after-start-fixme/migrate", "migrate-during-dma", AS_MERGED_NOTE),
          race("gup-after-start-fixme/zap", "munmap-zap-vs-fault", AS_MERGED_NOTE));

  private static DeclaredRace race(String name, String scenario, String note) {
    return new DeclaredRace(
        name, scenario, Set.of(ViolationKind.STALE_USE, ViolationKind.PERMISSION), TIMELINE + note);
  }

  private static final Set<DriverVariant> VARIANTS =
      EnumSet.of(DriverVariant.LEGACY, DriverVariant.AS_MERGED, DriverVariant.CONSOLIDATED);

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public DriverFamily family() {
    return DriverFamily.GPU;
  }

  @Override
  public CoherencyModel model() {
    return CoherencyModel.FENCE_WAIT;
  }

  @Override
  public Set<DriverVariant> variants() {
    return EnumSet.copyOf(VARIANTS);
  }

  @Override
  public List<DeclaredRace> declaredRaces(DriverVariant variant) {
    return switch (variant) {
      case LEGACY -> LEGACY_RACES;
      case AS_MERGED -> AS_MERGED_RACES;
      case CONSOLIDATED -> List.of();
    };
  }

  @Override
  public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
      throws ErrnoException {
    return new RadeonAdapter(variant, process, machine);
  }
}
