package io.mmulab.driver.nouveau;

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
 * The nouveau SVM driver (see MIGRATION.md): a shadow-PTE GPU with replayable faults, in the {@link
 * DriverVariant#LEGACY} port (v5.4 {@code hmm_mirror}, see {@link NouveauLegacyMirror}) and the
 * {@link DriverVariant#CONSOLIDATED} port (v5.5 per-fault interval notifier + classic notifier, see
 * {@link NouveauConsolidatedSync}). Stateless: each {@link #create} makes one SVM client on a GPU
 * of its own.
 */
public final class NouveauFactory extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "nouveau";

  /**
   * The scenario in which the legacy race shows with a freed frame: migration and {@code
   * MADV_DONTNEED} run under {@code mmap_lock} read, so they get past the fault path's {@code
   * mmap_sem}.
   */
  public static final String RACE_SCENARIO = "overlapping-invalidations";

  /** The scenario in which the same race shows through a CPU copy-on-write fault. */
  public static final String COW_RACE_SCENARIO = "munmap-vs-fault";

  /** The race's name. */
  public static final String RACE_NAME = "valid-flag-reset-at-end";

  /**
   * The legacy race: the hmm range's valid flag is set again at the end of an invalidation, so a
   * whole invalidation between the fault's lookup and its check goes unseen. Exposed by migration
   * and {@code MADV_DONTNEED} under {@code mmap_lock} read (a freed frame), by a CPU copy-on-write
   * fault on a zero-page entry (a CLEAR invalidation under {@code mmap_lock} read), by the DMA-time
   * migrations, and, rarely, by an munmap whose zap runs with the mmap lock downgraded to read
   * (first at seed 397) and by a remap of a page the GPU mirrors (first at seed 307).
   */
  public static final DeclaredRace VALID_FLAG_RESET =
      new DeclaredRace(
          RACE_NAME,
          List.of(
              RACE_SCENARIO,
              COW_RACE_SCENARIO,
              "migrate-during-dma",
              "munmap-zap-vs-fault",
              "remap-while-cached"),
          Set.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE),
          "A GPU fault looks frame P up with hmm_range_fault while its hmm range is valid; the CPU"
              + " changes the page under mmap_sem read (migrate or MADV_DONTNEED; in"
              + " munmap-vs-fault a write that breaks COW of the zero page): start clears the"
              + " range's valid flag and clears no GPU PTE, the CPU PTE moves, end sets the flag"
              + " again (and P is freed); the fault then takes svmm->mutex, finds the range valid"
              + " and writes GPU PTE va -> P: a freed frame, or the zero page while the CPU maps"
              + " the new page.");

  /** Describes the driver. */
  public NouveauFactory() {
    super(
        NAME,
        DriverFamily.GPU,
        CoherencyModel.SHADOW_PTE,
        Map.of(
            DriverVariant.LEGACY,
            List.of(VALID_FLAG_RESET),
            DriverVariant.CONSOLIDATED,
            List.of()));
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine)
      throws ErrnoException {
    return new NouveauAdapter(new NouveauSvmm(variant, process, machine));
  }
}
