package io.mmulab.driver.nouveau;

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
import io.mmulab.sim.mm.SimProcess;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The nouveau SVM driver (see MIGRATION.md): a shadow-PTE GPU with replayable faults, in the {@link
 * DriverVariant#LEGACY} port (v5.4 {@code hmm_mirror}, see {@link NouveauLegacyMirror}) and the
 * {@link DriverVariant#CONSOLIDATED} port (v5.5 per-fault interval notifier + classic notifier, see
 * {@link NouveauConsolidatedSync}). Stateless: each {@link #create} makes one SVM client on a GPU
 * of its own.
 */
public final class NouveauFactory implements DriverFactory {
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

  /** The race's name, declared once per scenario that exposes it. */
  public static final String RACE_NAME = "valid-flag-reset-at-end";

  /** The legacy race: the hmm range's valid flag is set again at the end of an invalidation. */
  public static final DeclaredRace VALID_FLAG_RESET =
      new DeclaredRace(
          RACE_NAME,
          RACE_SCENARIO,
          Set.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE),
          "A GPU fault looks frame P up with hmm_range_fault while its hmm range is valid; the CPU"
              + " migrates (or MADV_DONTNEEDs) the page under mmap_sem read: start clears the"
              + " range's valid flag and clears no GPU PTE, the CPU PTE moves, end sets the flag"
              + " again and P is freed; the fault then takes svmm->mutex, finds the range valid"
              + " and writes GPU PTE va -> P, a freed frame.");

  /**
   * The same race through a copy-on-write fault: the CPU's write fault on a zero-page (or shared)
   * entry is a CLEAR invalidation under {@code mmap_lock} read.
   */
  public static final DeclaredRace VALID_FLAG_RESET_COW =
      new DeclaredRace(
          RACE_NAME,
          COW_RACE_SCENARIO,
          Set.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE),
          "A GPU fault looks up the zero page Z for va (range valid); a CPU write to va breaks"
              + " COW under mmap_sem read: start clears the valid flag and clears no GPU PTE, the"
              + " CPU PTE moves to a new page, end sets the flag again; the fault takes"
              + " svmm->mutex, finds the range valid and writes GPU PTE va -> Z: the GPU reads"
              + " the zero page while the CPU entry maps the new page.");

  /** The same race as {@link #VALID_FLAG_RESET}, exposed by the DMA-time migrations. */
  public static final DeclaredRace VALID_FLAG_RESET_MIGRATE =
      new DeclaredRace(
          RACE_NAME,
          "migrate-during-dma",
          Set.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE),
          "A GPU fault looks frame P up while its hmm range is valid; a migration under mmap_sem"
              + " read runs start (valid cleared, no GPU PTE cleared), moves the CPU PTE, runs end"
              + " (valid set) and frees P; the fault finds the range valid and maps P.");

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
    return CoherencyModel.SHADOW_PTE;
  }

  @Override
  public Set<DriverVariant> variants() {
    return EnumSet.of(DriverVariant.LEGACY, DriverVariant.CONSOLIDATED);
  }

  @Override
  public List<DeclaredRace> declaredRaces(DriverVariant variant) {
    return switch (variant) {
      case LEGACY -> List.of(VALID_FLAG_RESET, VALID_FLAG_RESET_COW, VALID_FLAG_RESET_MIGRATE);
      case CONSOLIDATED -> List.of();
      case AS_MERGED -> throw unsupported(variant);
    };
  }

  @Override
  public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
      throws ErrnoException {
    return switch (variant) {
      case LEGACY, CONSOLIDATED ->
          new NouveauAdapter(
              new NouveauSvmm(variant, SimProcess.of(process), SimMachine.of(machine)));
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
