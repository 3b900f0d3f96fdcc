package io.mmulab.driver.i915;

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
 * The i915 GEM userptr driver (drivers.md §1), in its legacy form (v4.x–v5.12: a private interval
 * tree of active objects behind one classic notifier per mm) and its consolidated form (v5.13,
 * commit ed29c2691188: one interval notifier per object, {@code notifier_lock} as update lock,
 * fence wait in the callback, {@code readRetry} at execbuf commit).
 */
public final class I915Factory implements DriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "i915";

  /** The scenario that exposes the legacy race (migrate and MADV_DONTNEED vs two fault threads). */
  public static final String RACE_SCENARIO = "overlapping-invalidations";

  /**
   * Legacy: {@code get_pages} pins the user pages before the object is in the tree, so an
   * invalidation whose start already walked the tree never sees it.
   */
  public static final DeclaredRace GUP_BEFORE_VISIBLE =
      new DeclaredRace(
          "gup-before-visible",
          RACE_SCENARIO,
          Set.of(ViolationKind.STALE_USE, ViolationKind.PERMISSION),
          "CPU: madvise(DONTNEED) or migrate calls invalidate_range_start, the tree has no object"
              + " for the page, start returns; GPU: execbuf pins the old page, inserts the object"
              + " and binds it; CPU: the PTE is zapped; the GPU keeps (and uses) a binding of a"
              + " page no longer mapped at that address, and no callback follows. When the"
              + " invalidation is an mprotect downgrade, the writable binding of a page the CPU"
              + " made read-only is a PERMISSION violation.");

  /** The same window met by a copy-on-write of the zero page (a CLEAR of one page). */
  public static final DeclaredRace GUP_BEFORE_VISIBLE_COW =
      new DeclaredRace(
          "gup-before-visible-cow",
          "munmap-vs-fault",
          Set.of(ViolationKind.STALE_USE),
          "GPU: a read execbuf pins the shared zero page of an untouched page; CPU: the first write"
              + " to the page calls invalidate_range_start (CLEAR), the tree has no object yet,"
              + " and the PTE moves to a new frame; GPU: inserts the object and binds the zero page"
              + " the CPU no longer maps there, then reads it.");

  /**
   * {@link #GUP_BEFORE_VISIBLE} as migration exposes it: a migration's start finds no object for a
   * page whose pages the GPU pins meanwhile.
   */
  public static final DeclaredRace GUP_BEFORE_VISIBLE_MIGRATE =
      new DeclaredRace(
          "gup-before-visible/migrate",
          "migrate-during-dma",
          Set.of(ViolationKind.STALE_USE),
          "CPU: migrate calls invalidate_range_start while the object is not yet in the tree;"
              + " GPU: execbuf pins the old page, inserts and binds it; CPU: the PTE moves to the"
              + " new page; the GPU job uses the old one.");

  /**
   * {@link #GUP_BEFORE_VISIBLE} as munmap's zap exposes it: the munmap's start finds no object for
   * a page the GPU pinned before the VMA was detached.
   */
  public static final DeclaredRace GUP_BEFORE_VISIBLE_ZAP =
      new DeclaredRace(
          "gup-before-visible/zap",
          "munmap-zap-vs-fault",
          Set.of(ViolationKind.STALE_USE),
          "GPU: execbuf pins page P of the remapped range before munmap takes the mmap lock; CPU:"
              + " munmap detaches the VMA, downgrades the lock and calls invalidate_range_start,"
              + " the tree has no object for P yet; GPU: inserts the object and binds P; CPU: the"
              + " zap clears the PTE; the GPU keeps a binding of a page no longer mapped there.");

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
    return EnumSet.of(DriverVariant.LEGACY, DriverVariant.CONSOLIDATED);
  }

  @Override
  public List<DeclaredRace> declaredRaces(DriverVariant variant) {
    return switch (variant) {
      case LEGACY ->
          List.of(
              GUP_BEFORE_VISIBLE,
              GUP_BEFORE_VISIBLE_COW,
              GUP_BEFORE_VISIBLE_MIGRATE,
              GUP_BEFORE_VISIBLE_ZAP,
              NO_RELEASE_AT_EXIT);
      case CONSOLIDATED -> List.of();
      case AS_MERGED -> throw unsupported(variant);
    };
  }

  @Override
  public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
      throws ErrnoException {
    SimMachine m = SimMachine.of(machine);
    SimProcess p = SimProcess.of(process);
    return switch (variant) {
      case LEGACY -> new I915Adapter(new I915LegacyUserptr(I915Device.open(m, p)));
      case CONSOLIDATED -> new I915Adapter(new I915ConsolidatedUserptr(I915Device.open(m, p)));
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
