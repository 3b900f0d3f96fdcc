package io.mmulab.testkit.scenario;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The scenario library: the thirteen programs every driver runs, by name. Names are what {@link
 * io.mmulab.api.driver.DeclaredRace#scenario()} refers to.
 *
 * <table>
 *   <caption>The scenarios</caption>
 *   <tr><th>name</th><th>CPU side</th><th>device side</th></tr>
 *   <tr><td>{@value #MUNMAP_VS_FAULT}</td><td>munmap</td><td>read faults</td></tr>
 *   <tr><td>{@value #OVERLAPPING_INVALIDATIONS}</td><td>migrate and MADV_DONTNEED, overlapping
 *       </td><td>two threads of read faults</td></tr>
 *   <tr><td>{@value #MPROTECT_DURING_WRITE_FAULT}</td><td>mprotect(PROT_READ)</td>
 *       <td>writable prefetch, writes</td></tr>
 *   <tr><td>{@value #FORK_COW_WRITABLE}</td><td>fork, COW breaks in parent and child</td>
 *       <td>writes through writable translations</td></tr>
 *   <tr><td>{@value #MIGRATE_DURING_DMA}</td><td>migrate twice</td><td>asynchronous write jobs
 *       </td></tr>
 *   <tr><td>{@value #EXIT_DURING_DMA}</td><td>exit</td><td>jobs and reads, teardown after
 *       </td></tr>
 *   <tr><td>{@value #INSERT_REMOVE_DURING_INVALIDATION}</td><td>munmap</td><td>create, read,
 *       teardown of adapters</td></tr>
 *   <tr><td>{@value #OOM_REAP_DURING_FAULT}</td><td>OOM reaper (non-blockable)</td><td>read and
 *       write faults</td></tr>
 *   <tr><td>{@value #FENCE_NEVER_SIGNALS}</td><td>munmap; fence waits time out (injected)</td>
 *       <td>write jobs abandoned after a timeout, teardown</td></tr>
 *   <tr><td>{@value #MUNMAP_ZAP_VS_FAULT}</td><td>munmap, its zap under the mmap lock downgraded
 *       to read</td><td>read faults during the zap</td></tr>
 *   <tr><td>{@value #REMAP_WHILE_CACHED}</td><td>munmap, mmap of the same address, a store
 *       </td><td>reads and writes of the cached page, then a new read and write</td></tr>
 *   <tr><td>{@value #VMA_SPLIT_UNDER_GRANT}</td><td>munmap of one page, mprotect(PROT_READ) of
 *       two: the VMA splits</td><td>reads and writes of every page</td></tr>
 *   <tr><td>{@value #NESTED_INVALIDATION_VS_REGISTER}</td><td>MADV_DONTNEED of part of a huge
 *       page: a split nested inside the zap</td><td>first reads of fresh memory (a registration),
 *       reads of the huge page</td></tr>
 * </table>
 */
public final class Scenarios {
  /** Name of the munmap vs fault scenario. */
  public static final String MUNMAP_VS_FAULT = "munmap-vs-fault";

  /** Name of the overlapping invalidations vs two faults scenario. */
  public static final String OVERLAPPING_INVALIDATIONS = "overlapping-invalidations";

  /** Name of the mprotect downgrade during a write fault scenario. */
  public static final String MPROTECT_DURING_WRITE_FAULT = "mprotect-during-write-fault";

  /** Name of the fork-COW with a writable device mapping scenario. */
  public static final String FORK_COW_WRITABLE = "fork-cow-writable";

  /** Name of the migration during DMA scenario. */
  public static final String MIGRATE_DURING_DMA = "migrate-during-dma";

  /** Name of the process exit during DMA scenario. */
  public static final String EXIT_DURING_DMA = "exit-during-dma";

  /** Name of the insert and remove during an invalidation scenario. */
  public static final String INSERT_REMOVE_DURING_INVALIDATION =
      "insert-remove-during-invalidation";

  /** Name of the OOM reap during a fault scenario. */
  public static final String OOM_REAP_DURING_FAULT = "oom-reap-during-fault";

  /** Name of the fence that never signals scenario. */
  public static final String FENCE_NEVER_SIGNALS = "fence-never-signals";

  /** Name of the fault during munmap's zap (mmap lock read-held) scenario. */
  public static final String MUNMAP_ZAP_VS_FAULT = "munmap-zap-vs-fault";

  /** Name of the remap of a cached page scenario. */
  public static final String REMAP_WHILE_CACHED = "remap-while-cached";

  /** Name of the VMA split under a device mapping scenario. */
  public static final String VMA_SPLIT_UNDER_GRANT = "vma-split-under-grant";

  /** Name of the registration vs nested invalidation (huge-page split inside a zap) scenario. */
  public static final String NESTED_INVALIDATION_VS_REGISTER = "nested-invalidation-vs-register";

  private static final List<Scenario> ALL =
      List.of(
          new MunmapVsFault(),
          new OverlappingInvalidations(),
          new MprotectDuringWriteFault(),
          new ForkCowWritable(),
          new MigrateDuringDma(),
          new ExitDuringDma(),
          new InsertRemoveDuringInvalidation(),
          new OomReapDuringFault(),
          new FenceNeverSignals(),
          new MunmapZapVsFault(),
          new RemapWhileCached(),
          new VmaSplitUnderGrant(),
          new NestedInvalidationVsRegister());

  private Scenarios() {}

  /**
   * Returns every scenario, in the order of the table above.
   *
   * @return an unmodifiable list
   */
  public static List<Scenario> all() {
    return ALL;
  }

  /**
   * Returns the names of every scenario.
   *
   * @return in the order of {@link #all()}
   */
  public static List<String> names() {
    return ALL.stream().map(Scenario::name).toList();
  }

  /**
   * Returns the scenario called {@code name}.
   *
   * @param name a scenario name
   * @return the scenario
   * @throws IllegalArgumentException naming the known scenarios if there is none by that name
   */
  public static Scenario byName(String name) {
    return ALL.stream()
        .filter(s -> s.name().equals(name))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "unknown scenario '"
                        + name
                        + "'; known scenarios: "
                        + ALL.stream().map(Scenario::name).collect(Collectors.joining(", "))));
  }
}
