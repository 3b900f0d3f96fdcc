package io.mmulab.driver.hfi1;

import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.driver.SimDriverFactory;
import io.mmulab.sim.hfi.Psm;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * hfi1 (Omni-Path): expected receive through TIDs and SDMA sends through a pinned-page cache, a
 * {@link CoherencyModel#REGISTRATION_CACHE}. {@link DriverVariant#LEGACY} is the shared {@code
 * mmu_rb} handler of before 5.5 with the old SDMA ops; {@link DriverVariant#AS_MERGED} is 5.5's
 * interval notifier per TID node, still with the old SDMA ops; {@link DriverVariant#CONSOLIDATED}
 * is the 2023 expected-receive fixes with the kref-reworked SDMA cache (whose sequence check is
 * ours: see MIGRATION.md).
 */
public final class Hfi1Factory extends SimDriverFactory {
  /** The driver's name, its key in the driver map. */
  public static final String NAME = "hfi1";

  /** PSM frees an invalidated TID this many polls after reading the event. */
  public static final int DEFAULT_PSM_FREE_DELAY = 2;

  /** Legacy and as merged: invalidation only tells user space; the chip keeps the TID. */
  public static final DeclaredRace TID_NOTIFY_ONLY =
      new DeclaredRace(
          "tid-notify-only",
          List.of(
              "mprotect-during-write-fault",
              "fork-cow-writable",
              "migrate-during-dma",
              "overlapping-invalidations",
              "oom-reap-during-fault",
              "fence-never-signals",
              "remap-while-cached"),
          Set.of(ViolationKind.STALE_USE),
          "Device: a TID maps page P's pinned frame; CPU: munmap, MADV_DONTNEED, mprotect,"
              + " migration or a COW break reaches P, the callback queues the TID on invalid_tids"
              + " and raises the event bit but leaves the RcvArray entry; device: packets sent to"
              + " the TID before PSM frees it land in the old frame, an entry invalidated before"
              + " they began.");

  /** Legacy (mmu_rb insert) and as merged (the FIXME): the TID's notifier comes after the pin. */
  public static final DeclaredRace TID_PIN_BEFORE_INSERT =
      new DeclaredRace(
          "tid-pin-before-insert",
          List.of("overlapping-invalidations", "remap-while-cached"),
          Set.of(ViolationKind.STALE_USE),
          "Device: TID_UPDATE pins page P; CPU: munmap of P runs start to end and reaches no node"
              + " or notifier of the TID yet; device: programs the TID and inserts its node; PSM is"
              + " never told, so every later packet lands in a frame the CPU no longer maps.");

  /** Legacy and as merged: the old SDMA cache pins a page, then inserts its node unchecked. */
  public static final DeclaredRace SDMA_PIN_BEFORE_INSERT =
      new DeclaredRace(
          "sdma-pin-before-insert",
          List.of(
              "munmap-vs-fault",
              "overlapping-invalidations",
              "oom-reap-during-fault",
              "munmap-zap-vs-fault",
              "remap-while-cached",
              "nested-invalidation-vs-register"),
          Set.of(ViolationKind.STALE_USE),
          "Device: a send misses the SDMA cache and pins page P; CPU: munmap (or migration, the OOM"
              + " reaper) of P runs start to end and finds no node; device: inserts the node for"
              + " the old frame, and every send from P transmits it until the node is evicted.");

  /** Legacy and as merged: the old SDMA invalidate keeps a node that a descriptor holds. */
  public static final DeclaredRace SDMA_IN_USE_NODE =
      new DeclaredRace(
          "sdma-in-use-node",
          List.of(
              "munmap-vs-fault",
              "overlapping-invalidations",
              "insert-remove-during-invalidation",
              "oom-reap-during-fault",
              "munmap-zap-vs-fault",
              "remap-while-cached",
              "vma-split-under-grant",
              "nested-invalidation-vs-register"),
          Set.of(ViolationKind.STALE_USE),
          "Device: a send holds SDMA node N for page P; CPU: munmap (or migration) of P, the"
              + " cache's invalidate skips N because it is in use; device: the send completes, and"
              + " the next send from P finds N and transmits the old frame's data until N is"
              + " evicted.");

  private final int psmFreeDelay;

  /** hfi1 with PSM freeing invalidated TIDs after {@link #DEFAULT_PSM_FREE_DELAY} polls. */
  public Hfi1Factory() {
    this(DEFAULT_PSM_FREE_DELAY);
  }

  /**
   * hfi1 with PSM freeing invalidated TIDs {@code psmFreeDelay} polls after reading them.
   *
   * @param psmFreeDelay the polls, or {@link Psm#NEVER}
   * @throws IllegalArgumentException if negative and not {@link Psm#NEVER}
   */
  public Hfi1Factory(int psmFreeDelay) {
    super(
        NAME,
        DriverFamily.RDMA,
        CoherencyModel.REGISTRATION_CACHE,
        Map.of(
            DriverVariant.LEGACY,
            List.of(
                TID_NOTIFY_ONLY, TID_PIN_BEFORE_INSERT, SDMA_IN_USE_NODE, SDMA_PIN_BEFORE_INSERT),
            DriverVariant.AS_MERGED,
            List.of(
                TID_NOTIFY_ONLY, TID_PIN_BEFORE_INSERT, SDMA_IN_USE_NODE, SDMA_PIN_BEFORE_INSERT),
            DriverVariant.CONSOLIDATED,
            List.of()));
    if (psmFreeDelay < 0 && psmFreeDelay != Psm.NEVER) {
      throw new IllegalArgumentException("PSM free delay " + psmFreeDelay + " is negative");
    }
    this.psmFreeDelay = psmFreeDelay;
  }

  @Override
  protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine)
      throws io.mmulab.api.ErrnoException {
    return new Hfi1Adapter(variant, psmFreeDelay, process, machine);
  }
}
