package io.mmulab.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverCounters;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.testkit.Drivers;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Two drivers on one address space: every pair of the consolidated drivers found in the driver map
 * (so a driver module added later joins with no edit here) runs every scenario of the library as
 * one device made of both. Both are opened on the scenario's process and both serve every verb, so
 * both subscribe (the core calls every interval subscription of a range before any classic
 * notifier) and both keep translations of the same pages while the CPU side invalidates them. The
 * pair's attach order alternates with the seed. Every run must be clean.
 *
 * <p>Budget: {@code -Dmmulab.pairSeeds=N} seeds per pair and scenario, 2 by default (enough for CI
 * on 2 cores; raise it for a deeper sweep).
 */
class PairwiseConsolidatedTest {
  private static final int SEEDS = Integer.getInteger("mmulab.pairSeeds", 2);

  @TestFactory
  Stream<DynamicTest> everyPairOfConsolidatedDrivers_isCleanOnEveryScenario() {
    List<DriverFactory> all = Drivers.load().factories();
    List<DynamicTest> tests = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      for (int j = i + 1; j < all.size(); j++) {
        DriverFactory a = all.get(i);
        DriverFactory b = all.get(j);
        tests.add(DynamicTest.dynamicTest(a.name() + "+" + b.name(), () -> runPair(a, b)));
      }
    }
    assertThat(tests).as("pairs of %s", Drivers.load().names()).isNotEmpty();
    return tests.stream();
  }

  private static void runPair(DriverFactory a, DriverFactory b) {
    long t0 = System.nanoTime();
    for (Scenario s : Scenarios.all()) {
      for (long seed = 1; seed <= SEEDS; seed++) {
        PairFactory pair = seed % 2 == 1 ? new PairFactory(a, b) : new PairFactory(b, a);
        ScenarioRun run = new ScenarioRunner(pair, DriverVariant.CONSOLIDATED).run(s, seed);
        Verdict verdict = Verdict.of(run, List.of());
        assertThat(verdict.passed())
            .as("%s on %s, seed %d: %s%n%s", pair.name(), s.name(), seed, verdict.summary(),
                run.describe(60))
            .isTrue();
      }
    }
    System.out.printf(
        "%s+%s: %d scenarios x %d seeds clean, %d ms%n",
        a.name(), b.name(), Scenarios.all().size(), SEEDS, (System.nanoTime() - t0) / 1_000_000);
  }

  /** Both drivers' consolidated variants opened on one process, as one device. */
  private record PairFactory(DriverFactory first, DriverFactory second) implements DriverFactory {
    @Override
    public String name() {
      return first.name() + "+" + second.name();
    }

    @Override
    public DriverFamily family() {
      return first.family();
    }

    /** The weaker promise of the two: the scenarios expect only what both keep. */
    @Override
    public CoherencyModel model() {
      return first.model().coherent() ? second.model() : first.model();
    }

    @Override
    public Set<DriverVariant> variants() {
      return EnumSet.of(DriverVariant.CONSOLIDATED);
    }

    @Override
    public List<DeclaredRace> declaredRaces(DriverVariant variant) {
      return List.of();
    }

    @Override
    public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
        throws ErrnoException {
      DriverAdapter one = first.create(variant, process, machine);
      try {
        return new PairAdapter(name(), one, second.create(variant, process, machine));
      } catch (ErrnoException | RuntimeException e) {
        one.teardown();
        throw e;
      }
    }
  }

  /** Every verb goes to both devices, the first then the second; teardown in reverse. */
  private record PairAdapter(String driver, DriverAdapter first, DriverAdapter second)
      implements DriverAdapter {
    @Override
    public DriverVariant variant() {
      return DriverVariant.CONSOLIDATED;
    }

    @Override
    public long[] read(long va, int words) throws ErrnoException {
      first.read(va, words);
      return second.read(va, words);
    }

    @Override
    public void write(long va, long[] data) throws ErrnoException {
      first.write(va, data);
      second.write(va, data);
    }

    @Override
    public void prefetch(long va, long length, boolean write) throws ErrnoException {
      first.prefetch(va, length, write);
      second.prefetch(va, length, write);
    }

    @Override
    public JobFence submit(long va, int words, long[] data) throws ErrnoException {
      JobFence one = first.submit(va, words, data);
      JobFence two = second.submit(va, words, data);
      return new JobFence() {
        @Override
        public boolean isSignaled() {
          return one.isSignaled() && two.isSignaled();
        }

        @Override
        public boolean waitTimeout(long timeoutNanos) {
          return one.waitTimeout(timeoutNanos) && two.waitTimeout(timeoutNanos);
        }

        @Override
        public ErrnoException error() {
          return one.error() != null ? one.error() : two.error();
        }
      };
    }

    @Override
    public DriverCounters counters() {
      DriverCounters a = first.counters();
      DriverCounters b = second.counters();
      return new DriverCounters(
          a.faults() + b.faults(),
          a.retries() + b.retries(),
          a.invalidations() + b.invalidations(),
          a.refused() + b.refused(),
          a.pinned() + b.pinned(),
          a.unpinned() + b.unpinned());
    }

    @Override
    public void teardown() {
      second.teardown();
      first.teardown();
    }
  }
}
