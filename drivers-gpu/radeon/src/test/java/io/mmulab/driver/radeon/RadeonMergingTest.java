package io.mmulab.driver.radeon;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The spec's L2 script: BO A over pages [0, 8) and BO B over [4, 12) are merged by the legacy
 * driver into one node [0, 12), so an invalidation of page 10 (B only) evicts A too; with per-BO
 * interval notifiers (as merged, consolidated) only B is evicted.
 */
class RadeonMergingTest {
  private static final long PAGE = RadeonAdapter.PAGE_SIZE;
  private static final long SEED = 1;

  /** Runs the script and answers [A merged node start, last, A bound after, B bound after]. */
  private static List<Object> script(DriverVariant variant) {
    List<Object> out = new ArrayList<>();
    RunResult r =
        Simulation.run(
            SchedulerConfig.ofSeed(SEED),
            rt -> {
              SimMachine machine = new SimMachine(rt, 256);
              SimProcess p = machine.spawnProcess("app");
              RadeonAdapter dev = null;
              try {
                long base =
                    p.mmap(
                        0,
                        16 * PAGE,
                        Mman.PROT_READ | Mman.PROT_WRITE,
                        Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
                for (int i = 0; i < 16; i++) {
                  p.store(base + i * PAGE, 0x1000L + i);
                }
                dev = (RadeonAdapter) new RadeonFactory().create(variant, p, machine);
                RadeonBo a = dev.userptr(base, 8 * PAGE);
                RadeonBo b = dev.userptr(base + 4 * PAGE, 8 * PAGE);
                dev.validate(a, false);
                dev.validate(b, false);
                if (dev.protocol instanceof RadeonLegacy legacy) {
                  long[] node = legacy.mn.nodeOf(a);
                  out.add((node[0] - base) / PAGE);
                  out.add((node[1] + 1 - base) / PAGE);
                  assertThat(legacy.mn.nodeOf(b)).containsExactly(node);
                } else {
                  out.add(-1L);
                  out.add(-1L);
                }
                p.munmap(base + 10 * PAGE, PAGE);
                out.add(a.bound());
                out.add(b.bound());
              } catch (ErrnoException e) {
                throw new AssertionError(e);
              } finally {
                if (dev != null) {
                  dev.teardown();
                }
              }
            });
    assertThat(r.outcome()).as(r.toString()).isEqualTo(Outcome.OK);
    System.out.printf("L2 %s (seed %d): %s%n", variant, SEED, out);
    return out;
  }

  @Test
  void legacy_overlappingBosMergedIntoOneNode_unrelatedInvalidationEvictsBoth() {
    assertThat(script(DriverVariant.LEGACY)).containsExactly(0L, 12L, false, false);
  }

  @Test
  void perBoNotifiers_invalidationEvictsOnlyTheBoItHits() {
    assertThat(script(DriverVariant.AS_MERGED)).containsExactly(-1L, -1L, true, false);
    assertThat(script(DriverVariant.CONSOLIDATED)).containsExactly(-1L, -1L, true, false);
  }
}
