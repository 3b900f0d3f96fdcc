package io.mmulab.driver.i915;

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
 * The i915 GEM userptr driver (see MIGRATION.md), in its legacy form (v4.x–v5.12: a private
 * interval tree of active objects behind one classic notifier per mm) and its consolidated form
 * (v5.13, commit ed29c2691188: one interval notifier per object, {@code notifier_lock} as update
 * lock, fence wait in the callback, {@code readRetry} at execbuf commit).
 */
public final class I915Factory extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "i915";

  /** The scenario that exposes the legacy race (migrate and MADV_DONTNEED vs two fault threads). */
  public static final String RACE_SCENARIO = "overlapping-invalidations";

  /**
   * Legacy: {@code get_pages} pins the user pages before the object is in the tree, so an
   * invalidation whose start already walked the tree never sees it. Exposed by {@code
   * MADV_DONTNEED} and migration, by a copy-on-write of the zero page (a CLEAR of one page), by the
   * DMA-time migrations, and by an munmap whose zap runs with the mmap lock downgraded to read (the
   * GPU pinned the page before munmap took the lock).
   */
  public static final DeclaredRace GUP_BEFORE_VISIBLE =
      new DeclaredRace(
          "gup-before-visible",
          List.of(
              RACE_SCENARIO,
              "munmap-vs-fault",
              "migrate-during-dma",
              "munmap-zap-vs-fault",
              "remap-while-cached",
              "nested-invalidation-vs-register"),
          Set.of(ViolationKind.STALE_USE, ViolationKind.PERMISSION),
          "CPU: an invalidation (madvise(DONTNEED), migrate, or the CLEAR of a first write to a"
              + " zero-page entry) calls invalidate_range_start, the tree has no object for the"
              + " page, start returns; GPU: execbuf pins the old page (or the zero page), inserts"
              + " the object and binds it; CPU: the PTE is zapped or moves to a new frame; the GPU"
              + " keeps (and uses) a binding of a page no longer mapped at that address, and no"
              + " callback follows. When the invalidation is an mprotect downgrade, the writable"
              + " binding of a page the CPU made read-only is a PERMISSION violation.");

  /**
   * Legacy: the notifier has no {@code release} op, and the kernel unhooks classic notifiers after
   * calling {@code release} at exit, so the exit's unmap never reaches the tree.
   */
  public static final DeclaredRace NO_RELEASE_AT_EXIT =
      new DeclaredRace(
          "no-release-at-exit",
          "exit-during-dma",
          Set.of(ViolationKind.STALE_USE),
          "CPU: the process exits: mmu_notifier_release calls the (absent) release op and unhooks"
              + " the notifier, then unmap_vmas zaps every PTE without any invalidate_range_start"
              + " reaching i915; GPU: the userptr objects stay bound to their pinned frames, which"
              + " the CPU no longer maps, until the device file is closed.");

  /** Describes the driver. */
  public I915Factory() {
    super(
        NAME,
        DriverFamily.GPU,
        CoherencyModel.FENCE_WAIT,
        Map.of(
            DriverVariant.LEGACY,
            List.of(GUP_BEFORE_VISIBLE, NO_RELEASE_AT_EXIT),
            DriverVariant.CONSOLIDATED,
            List.of()));
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine)
      throws ErrnoException {
    I915Device dev = I915Device.open(machine, process);
    return switch (variant) {
      case LEGACY -> new I915Adapter(new I915LegacyUserptr(dev));
      case CONSOLIDATED -> new I915Adapter(new I915ConsolidatedUserptr(dev));
      case AS_MERGED -> throw unsupported(variant);
    };
  }
}
