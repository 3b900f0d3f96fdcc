package io.mmulab.testkit.dmirror;

import static io.mmulab.sim.mm.Mman.PROT_READ;
import static io.mmulab.testkit.dmirror.DmirrorFixture.ANON_PRIVATE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.PAGE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.RW;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.sched.DeterministicRuntime;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Commands under the deterministic runtime: the timeout, and SNAPSHOT racing mprotect. */
class DmirrorDeterministicTest {
  private static final int SEEDS = 60;

  /**
   * Every lookup collides (an invalidation of another page lands between the lookup and the check,
   * which the whole-space subscription sees), so the fault gives up after 1000 ms of virtual time
   * with {@code EBUSY}.
   */
  @Test
  void consolidated_lookupCollidingForever_failsWithEbusyAfterTheTimeout() {
    SchedulerConfig config = SchedulerConfig.ofSeed(1).withNanosPerStep(100_000);
    RunResult r =
        Simulation.run(
            config,
            rt -> {
              try {
                CoherencyChecker checker = new CoherencyChecker();
                SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, 32, checker));
                SimProcess p = machine.spawnProcess("p");
                long a = p.mmap(0, PAGE, RW, ANON_PRIVATE);
                long other = p.mmap(0, PAGE, RW, ANON_PRIVATE);
                p.store(a, 1);
                p.store(other, 1);
                DmirrorMirror m =
                    DmirrorDevices.of(machine).device(0).open(p, DriverVariant.CONSOLIDATED);
                boolean[] readOnly = {false};
                int[] collisions = {0};
                m.setAfterLookupHook(
                    () -> {
                      try {
                        readOnly[0] = !readOnly[0];
                        p.mprotect(other, PAGE, readOnly[0] ? PROT_READ : RW);
                        collisions[0]++;
                      } catch (ErrnoException e) {
                        throw new AssertionError(e);
                      }
                    });
                long begin = rt.clock().nanoTime();
                try {
                  DmirrorFixture.run(m, DmirrorCommand.READ, a, 1);
                  throw new AssertionError("READ succeeded");
                } catch (ErrnoException e) {
                  assertThat(e.errno()).isEqualTo(Errno.EBUSY);
                }
                assertThat(rt.clock().nanoTime() - begin).isGreaterThanOrEqualTo(1_000_000_000L);
                assertThat(collisions[0]).isGreaterThan(1);
                m.setAfterLookupHook(null);
                assertThat(DmirrorFixture.run(m, DmirrorCommand.READ, a, 1).word(0)).isEqualTo(1);
                m.close();
                checker.assertClean();
              } catch (ErrnoException e) {
                throw new AssertionError(e);
              }
            });
    assertThat(r.outcome()).as("%s", r.report()).isEqualTo(Outcome.OK);
  }

  /** SNAPSHOT of 4 pages while the CPU write-protects all of them in one window. */
  private static Consumer<DeterministicRuntime> snapshotVsMprotect(
      DriverVariant variant, Set<String> seen) {
    return rt -> {
      try {
        CoherencyChecker checker = new CoherencyChecker();
        SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, 32, checker));
        SimProcess p = machine.spawnProcess("p");
        long a = p.mmap(0, 4 * PAGE, RW, ANON_PRIVATE);
        for (int i = 0; i < 4; i++) {
          p.store(a + i * PAGE, i);
        }
        DmirrorMirror m = DmirrorDevices.of(machine).device(0).open(p, variant);
        DmirrorCmd[] snap = new DmirrorCmd[1];
        ThreadHandle device =
            rt.spawn(
                "device",
                () -> {
                  try {
                    snap[0] = DmirrorFixture.run(m, DmirrorCommand.SNAPSHOT, a, 4);
                  } catch (ErrnoException e) {
                    throw new AssertionError(e);
                  }
                });
        ThreadHandle cpu =
            rt.spawn(
                "mprotect",
                () -> {
                  try {
                    p.mprotect(a, 4 * PAGE, PROT_READ);
                  } catch (ErrnoException e) {
                    throw new AssertionError(e);
                  }
                });
        device.join();
        cpu.join();
        m.close();
        checker.assertClean();
        StringBuilder bytes = new StringBuilder();
        for (int i = 0; i < 4; i++) {
          bytes.append(snap[0].perm(i));
        }
        seen.add(bytes.toString());
        assertThat(bytes.toString()).as("one point in time").isIn("2222", "1111");
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    };
  }

  @ParameterizedTest
  @EnumSource(names = {"CONSOLIDATED", "LEGACY"})
  void snapshot_racingMprotect_isConsistentOnEverySeed(DriverVariant variant) {
    Set<String> seen = new HashSet<>();
    for (long seed = 1; seed <= SEEDS; seed++) {
      RunResult r =
          seed % 2 == 0
              ? Simulation.run(SchedulerConfig.ofSeed(seed), snapshotVsMprotect(variant, seen))
              : DmirrorLegacyRaceTest.runSticky(seed, snapshotVsMprotect(variant, seen));
      assertThat(r.outcome()).as("seed %d:%n%s", seed, r.report()).isEqualTo(Outcome.OK);
    }
    assertThat(seen).as("both orders reached").containsExactlyInAnyOrder("2222", "1111");
  }
}
