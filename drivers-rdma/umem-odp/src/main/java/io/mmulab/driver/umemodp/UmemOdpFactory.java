package io.mmulab.driver.umemodp;

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
 * RDMA on-demand paging (ib_umem_odp with mlx5): {@link DriverVariant#LEGACY} (v5.4: one classic
 * notifier per address space, {@code umem_rwsem} held from start to end, per-umem count, sequence
 * and completion) and {@link DriverVariant#CONSOLIDATED} (5.5: an interval notifier per umem, per
 * child of an implicit region, with {@code umem_mutex} as the update lock). Shadow-PTE model: the
 * NIC's translation tables mirror the CPU page table and no page is held.
 */
public final class UmemOdpFactory extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "umem-odp";

  /** The scenario that exposes the legacy deadlock. */
  public static final String DEADLOCK_SCENARIO = "nested-invalidation-vs-register";

  /**
   * The legacy nested-invalidation deadlock: a zap's start holds {@code umem_rwsem} for read until
   * its end; a huge-page split inside the zap starts a nested invalidation on the same thread,
   * whose start asks for the read lock again; a region registration that queued for write in
   * between blocks it (writer preference), and waits itself for the outer read.
   */
  public static final DeclaredRace NESTED_INVALIDATION_DEADLOCK =
      new DeclaredRace(
          "nested-invalidation-deadlock",
          DEADLOCK_SCENARIO,
          Set.of(ViolationKind.DEADLOCK),
          "CPU: madvise(DONTNEED) of part of a huge page; its invalidate_range_start takes"
              + " umem_rwsem for read and keeps it until invalidate_range_end. Registration: an"
              + " ODP MR is registered; after mmu_notifier_get it asks for umem_rwsem for write"
              + " and queues behind the reader. CPU: the zap splits the huge page, a nested"
              + " invalidate_range_start on the same thread asks for umem_rwsem for read and"
              + " queues behind the writer. Neither can go on: a deadlock (the 5.5 conversion's"
              + " reason to drop the per-mm lock).");

  /** Describes the driver. */
  public UmemOdpFactory() {
    super(
        NAME,
        DriverFamily.RDMA,
        CoherencyModel.SHADOW_PTE,
        Map.of(
            DriverVariant.LEGACY,
            List.of(NESTED_INVALIDATION_DEADLOCK),
            DriverVariant.CONSOLIDATED,
            List.of()));
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine)
      throws ErrnoException {
    return new UmemOdpAdapter(new Mlx5Odp(variant, process, machine));
  }
}
