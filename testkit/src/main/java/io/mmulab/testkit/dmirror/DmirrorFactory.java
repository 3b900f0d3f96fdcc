package io.mmulab.testkit.dmirror;

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
import io.mmulab.sim.mm.SimMachine;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The dmirror driver: the kernel's HMM test device as the reference shadow-page-table driver, in
 * the {@link DriverVariant#CONSOLIDATED} port (interval notifier, collision-retry) and the {@link
 * DriverVariant#LEGACY} port (the {@code hmm_mirror} valid-flag pattern of v5.2–v5.4). Stateless:
 * each {@link #create} opens {@code /dev/hmm_dmirror0} of the machine once more.
 */
public final class DmirrorFactory implements DriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "dmirror";

  /** The name of the race the legacy port keeps. */
  public static final String RACE = "valid-flag-reset-at-end";

  /** The scenario that exposes the legacy race most often. */
  public static final String RACE_SCENARIO = "munmap-vs-fault";

  /**
   * The race the legacy port keeps, in {@code munmap-vs-fault}: the range's {@code valid} flag is
   * set back at the end of an invalidation, so a whole invalidation between the page lookup and the
   * check goes unseen.
   */
  public static final DeclaredRace VALID_FLAG_RESET =
      new DeclaredRace(
          RACE,
          RACE_SCENARIO,
          Set.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE),
          "The device looks page P up while its hmm range is valid and drops the mmap lock; the"
              + " CPU munmaps the page: start clears the range's valid flag and erases nothing, the"
              + " PTE goes, end sets the flag again and P is freed; the device then takes its mutex,"
              + " finds the range valid and maps the freed P.");

  /**
   * The same race in every scenario of the library where it shows: each one lets a whole
   * invalidation fall between a device lookup and its check (measured on 1,000 seeds:
   * munmap-vs-fault 5.5%, overlapping-invalidations 4.5%, mprotect-during-write-fault 1.7%,
   * migrate-during-dma 0.6% of the runs; never elsewhere, never on CONSOLIDATED), and
   * munmap-zap-vs-fault (first at seed 5 of 20).
   */
  public static final List<DeclaredRace> LEGACY_RACES =
      List.of(
          VALID_FLAG_RESET,
          new DeclaredRace(
              RACE,
              "overlapping-invalidations",
              Set.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE),
              "The device looks page P up between two invalidations (migrate, MADV_DONTNEED) of"
                  + " it; the second one runs start to end before the device takes its mutex, so"
                  + " the flag is valid again and the device maps P, which the window replaced or"
                  + " freed."),
          new DeclaredRace(
              RACE,
              "mprotect-during-write-fault",
              Set.of(ViolationKind.PERMISSION),
              "A device write prefetch looks the pages up writable; mprotect(PROT_READ) runs start"
                  + " to end before the device takes its mutex; the flag is valid again and the"
                  + " device maps the now read-only pages writable."),
          new DeclaredRace(
              RACE,
              "migrate-during-dma",
              Set.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE),
              "A device job faults page P in; the CPU's second migration runs start to end before"
                  + " the device takes its mutex; the flag is valid again and the device maps the"
                  + " old frame P, which the migration freed."),
          new DeclaredRace(
              RACE,
              "munmap-zap-vs-fault",
              Set.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE),
              "The device looks the remapped page P up and drops the mmap lock; the next munmap"
                  + " detaches the VMA, downgrades the lock and runs its window start to end (zap"
                  + " included) before the device takes its mutex; the flag is valid again and the"
                  + " device maps P, which the zap removed and the end freed."));

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
      case LEGACY -> LEGACY_RACES;
      case CONSOLIDATED -> List.of();
      case AS_MERGED -> throw unsupported(variant);
    };
  }

  @Override
  public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
      throws ErrnoException {
    return switch (variant) {
      case LEGACY, CONSOLIDATED ->
          new DmirrorAdapter(
              DmirrorDevices.of(SimMachine.of(machine)).device(0).open(process, variant));
      case AS_MERGED -> throw unsupported(variant);
    };
  }

  private static IllegalArgumentException unsupported(DriverVariant variant) {
    return new IllegalArgumentException(
        NAME + " has no " + variant + " variant; it has LEGACY and CONSOLIDATED");
  }

  @Override
  public String toString() {
    return NAME;
  }
}
