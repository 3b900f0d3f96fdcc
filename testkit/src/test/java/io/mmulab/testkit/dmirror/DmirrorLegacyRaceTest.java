package io.mmulab.testkit.dmirror;

import static io.mmulab.testkit.dmirror.DmirrorFixture.ANON_PRIVATE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.PAGE;
import static io.mmulab.testkit.dmirror.DmirrorFixture.RW;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.sched.DeterministicRuntime;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.ScheduleSource;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Shrinker;
import io.mmulab.sim.sched.Simulation;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The race the LEGACY port keeps ({@link DmirrorFactory#VALID_FLAG_RESET}), reproduced twice: as a
 * fixed timeline (the CPU's munmap runs exactly between the device's page lookup and its update
 * lock) and as a schedule of the deterministic runtime found by seed, shrunk and replayed. The same
 * timeline and the same seeds are clean on CONSOLIDATED.
 *
 * <p>{@code -Dmmulab.dmirror.seed=S} changes the first seed of the search, {@code
 * -Dmmulab.dmirror.seeds=N} its length.
 */
class DmirrorLegacyRaceTest {
  private static final long FIRST_SEED = Long.getLong("mmulab.dmirror.seed", 1L);
  private static final int SEEDS = Integer.getInteger("mmulab.dmirror.seeds", 200);

  /** A seed that exposes the race in {@link #munmapVsRead} (found by the search below). */
  static final long PINNED_SEED = 32;

  /** The choices of {@link #PINNED_SEED}'s run after shrinking (printed by the search test). */
  static final int[] SHRUNK = {1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

  // ---------------------------------------------------------------------------------------------
  // The fixed timeline

  /**
   * Device: READ of page P faults: the lookup finds frame F. Then, before the device takes its
   * mutex, the CPU unmaps P completely (start, PTE cleared, end, F freed). Then the device locks
   * and checks its lookup.
   */
  private static CoherencyChecker lookupThenMunmapThenLock(DriverVariant variant) throws Exception {
    DmirrorFixture f = new DmirrorFixture(variant);
    DmirrorMirror m = f.open();
    long a = f.filled(1);
    AtomicBoolean munmapped = new AtomicBoolean();
    m.setAfterLookupHook(
        () -> {
          if (munmapped.compareAndSet(false, true)) {
            try {
              f.proc.munmap(a, PAGE);
            } catch (ErrnoException e) {
              throw new AssertionError(e);
            }
          }
        });
    Optional<Errno> failed = Optional.empty();
    try {
      DmirrorFixture.run(m, DmirrorCommand.READ, a, 1);
    } catch (ErrnoException e) {
      failed = Optional.of(e.errno());
    }
    assertThat(munmapped).isTrue();
    if (variant == DriverVariant.CONSOLIDATED) {
      assertThat(failed).as("the retry looks again and finds the hole").contains(Errno.EFAULT);
    } else {
      assertThat(failed).as("the stale lookup is used").isEmpty();
    }
    m.close();
    return f.checker;
  }

  @Test
  void legacy_munmapBetweenLookupAndLock_mapsAndReadsTheFreedFrame() throws Exception {
    CoherencyChecker checker = lookupThenMunmapThenLock(DriverVariant.LEGACY);
    assertThat(checker.violations())
        .extracting(Violation::kind)
        .contains(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE)
        .allMatch(DmirrorFactory.VALID_FLAG_RESET.kinds()::contains);
  }

  @Test
  void consolidated_munmapBetweenLookupAndLock_retriesAndIsClean() throws Exception {
    CoherencyChecker checker = lookupThenMunmapThenLock(DriverVariant.CONSOLIDATED);
    assertThat(checker.violations()).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------
  // The scheduled search

  /**
   * The device reads page P (one word) while a CPU thread unmaps it; the run fails if the checker
   * saw any violation.
   */
  static Consumer<DeterministicRuntime> munmapVsRead(DriverVariant variant) {
    return rt -> {
      try {
        CoherencyChecker checker = new CoherencyChecker();
        SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, 32, checker));
        SimProcess p = machine.spawnProcess("p");
        long a = p.mmap(0, 2 * PAGE, RW, ANON_PRIVATE);
        p.store(a, 42);
        p.store(a + PAGE, 43);
        DmirrorMirror m = DmirrorDevices.of(machine).device(0).open(p, variant);
        long[] read = {-1};
        ThreadHandle device =
            rt.spawn(
                "device",
                () -> {
                  try {
                    read[0] = m.readWords(a, 1)[0];
                  } catch (ErrnoException e) {
                    assertThat(e.errno()).isEqualTo(Errno.EFAULT);
                  }
                });
        ThreadHandle cpu =
            rt.spawn(
                "munmap",
                () -> {
                  try {
                    p.munmap(a, PAGE);
                  } catch (ErrnoException e) {
                    throw new AssertionError(e);
                  }
                });
        device.join();
        cpu.join();
        m.close();
        checker.assertClean(); // the oracle, before the value the device read
        assertThat(read[0]).as("value read (-1: EFAULT)").isIn(-1L, 42L);
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    };
  }

  /**
   * The schedule of a seed: keep the running thread with probability 0.9, else switch to another
   * one at random. Long uninterrupted stretches are what this race needs (the CPU must run a whole
   * munmap while the device sits between its lookup and its lock); uniform choices interleave too
   * finely to leave the device idle that long.
   */
  static RunResult runSticky(long seed, Consumer<DeterministicRuntime> program) {
    SplittableRandom rng = new SplittableRandom(seed);
    ScheduleSource sticky = n -> rng.nextDouble() < 0.9 ? 0 : 1 + rng.nextInt(n - 1);
    DeterministicRuntime rt = new DeterministicRuntime(SchedulerConfig.ofSeed(seed), sticky);
    return rt.run(() -> program.accept(rt));
  }

  private static Optional<RunResult> findSeed(Consumer<DeterministicRuntime> program) {
    for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      RunResult r = runSticky(seed, program);
      if (STALE.test(r)) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }

  private static final Predicate<RunResult> STALE =
      r -> r.outcome() == Outcome.FAILED && String.valueOf(r.failure()).contains("STALE_USE");

  @Test
  void legacy_scheduledSearch_findsTheRace_andTheShrunkScheduleReplays() {
    Consumer<DeterministicRuntime> program = munmapVsRead(DriverVariant.LEGACY);
    Optional<RunResult> found = findSeed(program);
    assertThat(found)
        .as("a seed in [%d, %d) exposing the race", FIRST_SEED, FIRST_SEED + SEEDS)
        .isPresent();
    RunResult failing = found.get();
    Shrinker.Result shrunk = Shrinker.shrink(failing, program, STALE);
    RunResult replayed = Simulation.replay(failing.config(), shrunk.choiceArray(), program);
    System.out.printf(
        "dmirror LEGACY race: first seed %d (searched from %d), %d choices shrunk to %s%n",
        failing.seed(),
        FIRST_SEED,
        failing.choices().size(),
        Arrays.toString(shrunk.choiceArray()));
    assertThat(STALE.test(replayed))
        .as("replay of seed %d with choices %s", failing.seed(), shrunk.choices())
        .isTrue();
    assertThat(String.valueOf(replayed.failure())).contains("USE_AFTER_FREE");
  }

  @Test
  void legacy_pinnedSeed_exposesTheRace() {
    RunResult r = runSticky(PINNED_SEED, munmapVsRead(DriverVariant.LEGACY));
    assertThat(STALE.test(r)).as("seed %d:%n%s", PINNED_SEED, r.report()).isTrue();
  }

  @Test
  void shrunkSchedule_failsOnLegacy_andIsCleanOnConsolidated() {
    SchedulerConfig config = SchedulerConfig.ofSeed(PINNED_SEED);
    RunResult legacy = Simulation.replay(config, SHRUNK, munmapVsRead(DriverVariant.LEGACY));
    assertThat(STALE.test(legacy)).as("legacy replay:%n%s", legacy.report()).isTrue();
    RunResult consolidated =
        Simulation.replay(config, SHRUNK, munmapVsRead(DriverVariant.CONSOLIDATED));
    assertThat(consolidated.outcome())
        .as("consolidated replay:%n%s", consolidated.report())
        .isEqualTo(Outcome.OK);
  }

  @Test
  void consolidated_sameSeeds_areAllClean() {
    Consumer<DeterministicRuntime> program = munmapVsRead(DriverVariant.CONSOLIDATED);
    for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      RunResult r = runSticky(seed, program);
      assertThat(r.outcome())
          .as(
              "seed %d (replay with -Dmmulab.dmirror.seed=%d -Dmmulab.dmirror.seeds=1):%n%s",
              seed, seed, r.report())
          .isEqualTo(Outcome.OK);
    }
    for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      RunResult r = Simulation.run(SchedulerConfig.ofSeed(seed), program); // uniform choices too
      assertThat(r.outcome()).as("uniform seed %d:%n%s", seed, r.report()).isEqualTo(Outcome.OK);
    }
  }

  /** The first seed at which munmap-zap-vs-fault shows the race on LEGACY. */
  private static final long ZAP_PINNED_SEED = 5;

  @Test
  void legacy_munmapZapVsFault_pinnedSeed_showsTheDeclaredRace_consolidatedClean() {
    DeclaredRace race = DmirrorFactory.VALID_FLAG_RESET;
    assertThat(race.scenarios()).contains(Scenarios.MUNMAP_ZAP_VS_FAULT);
    DmirrorFactory factory = new DmirrorFactory();
    Scenario scenario = Scenarios.byName(Scenarios.MUNMAP_ZAP_VS_FAULT);

    ScenarioRun run =
        new ScenarioRunner(factory, DriverVariant.LEGACY).run(scenario, ZAP_PINNED_SEED);
    Verdict verdict = Verdict.of(run, DmirrorFactory.LEGACY_RACES);

    assertThat(verdict.shows(race)).as(verdict.summary()).isTrue();
    assertThat(verdict.passed()).as(verdict.summary()).isTrue();
    assertThat(run.violations()).anyMatch(v -> v.kind() == ViolationKind.STALE_USE);
    ScenarioRun safe =
        new ScenarioRunner(factory, DriverVariant.CONSOLIDATED).run(scenario, ZAP_PINNED_SEED);
    assertThat(safe.outcome()).isEqualTo(Outcome.OK);
    assertThat(safe.violations()).isEmpty();
  }
}
