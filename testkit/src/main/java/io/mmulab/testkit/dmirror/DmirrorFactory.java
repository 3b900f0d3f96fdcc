package io.mmulab.testkit.dmirror;

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
 * The dmirror driver: the kernel's HMM test device as the reference shadow-page-table driver, in
 * the {@link DriverVariant#CONSOLIDATED} port (interval notifier, collision-retry) and the {@link
 * DriverVariant#LEGACY} port (the {@code hmm_mirror} valid-flag pattern of v5.2–v5.4). Stateless:
 * each {@link #create} opens {@code /dev/hmm_dmirror0} of the machine once more.
 */
public final class DmirrorFactory extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "dmirror";

  /** The name of the race the legacy port keeps. */
  public static final String RACE = "valid-flag-reset-at-end";

  /** The scenario that exposes the legacy race most often. */
  public static final String RACE_SCENARIO = "munmap-vs-fault";

  /**
   * The race the legacy port keeps: the range's {@code valid} flag is set back at the end of an
   * invalidation, so a whole invalidation between the page lookup and the check goes unseen. Every
   * scenario of the library that lets a whole invalidation fall between a device lookup and its
   * check exposes it (measured on 1,000 seeds: munmap-vs-fault 5.5%, overlapping-invalidations
   * 4.5%, mprotect-during-write-fault 1.7%, migrate-during-dma 0.6% of the runs; never elsewhere,
   * never on CONSOLIDATED), and munmap-zap-vs-fault, where the zap runs with the mmap lock
   * downgraded to read.
   */
  public static final DeclaredRace VALID_FLAG_RESET =
      new DeclaredRace(
          RACE,
          List.of(
              RACE_SCENARIO,
              "overlapping-invalidations",
              "mprotect-during-write-fault",
              "migrate-during-dma",
              "munmap-zap-vs-fault",
              "remap-while-cached"),
          Set.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE, ViolationKind.PERMISSION),
          "The device looks page P up while its hmm range is valid and drops the mmap lock; a"
              + " whole invalidation of P runs before the device takes its mutex: start clears the"
              + " range's valid flag and erases nothing, the PTE changes, end sets the flag again;"
              + " the device finds the range valid and maps P. munmap and migrate free P"
              + " (USE_AFTER_FREE), MADV_DONTNEED or a second overlapping window replace it"
              + " (STALE_USE), mprotect(PROT_READ) makes the writable mapping wrong (PERMISSION).");

  /** The races of the legacy port: one, in four scenarios. */
  public static final List<DeclaredRace> LEGACY_RACES = List.of(VALID_FLAG_RESET);

  /** Describes the driver. */
  public DmirrorFactory() {
    super(
        NAME,
        DriverFamily.TEST,
        CoherencyModel.SHADOW_PTE,
        Map.of(DriverVariant.LEGACY, LEGACY_RACES, DriverVariant.CONSOLIDATED, List.of()));
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine)
      throws ErrnoException {
    return new DmirrorAdapter(DmirrorDevices.of(machine).device(0).open(process, variant));
  }
}
