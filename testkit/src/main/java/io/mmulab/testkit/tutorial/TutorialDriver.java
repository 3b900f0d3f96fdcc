package io.mmulab.testkit.tutorial;

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
 * The tutorial's driver: a device that mirrors a whole process in its own page table, in a {@link
 * DriverVariant#CONSOLIDATED} and a {@link DriverVariant#LEGACY} port. Stateless, like every
 * factory: each {@link #create} opens a new device.
 */
public final class TutorialDriver implements DriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "tutorial";

  /** The race the legacy port keeps: its "invalidating" flag is a boolean, not a count. */
  public static final DeclaredRace INVALIDATING_FLAG =
      new DeclaredRace(
          "invalidating-flag",
          "overlapping-invalidations",
          Set.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE),
          "Invalidations A and B overlap; A's end clears the flag while B is still open, so a"
              + " device fault looks the page up before B changes it and maps the old frame; B then"
              + " moves the CPU entry away under the live device translation (STALE_USE) and frees"
              + " the frame, which the device reads later (USE_AFTER_FREE).");

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public DriverFamily family() {
    return DriverFamily.TEST;
  }

  @Override
  public CoherencyModel model() {
    return CoherencyModel.SHADOW_PTE;
  }

  @Override
  public Set<DriverVariant> variants() {
    return EnumSet.of(DriverVariant.LEGACY, DriverVariant.CONSOLIDATED);
  }

  @Override
  public List<DeclaredRace> declaredRaces(DriverVariant variant) {
    return switch (variant) {
      case LEGACY -> List.of(INVALIDATING_FLAG);
      case CONSOLIDATED -> List.of();
      case AS_MERGED -> throw unsupported(variant);
    };
  }

  @Override
  public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
      throws ErrnoException {
    return switch (variant) {
      case LEGACY -> new LegacyMirror(process, machine);
      case CONSOLIDATED -> new ConsolidatedMirror(process, machine);
      case AS_MERGED -> throw unsupported(variant);
    };
  }

  private static IllegalArgumentException unsupported(DriverVariant variant) {
    return new IllegalArgumentException(
        NAME
            + " has no "
            + variant
            + " variant; it has "
            + EnumSet.of(DriverVariant.LEGACY, DriverVariant.CONSOLIDATED));
  }
}
