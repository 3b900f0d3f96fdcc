package io.mmulab.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
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
 * <p>Budget: {@code -Dmmulab.pairSeeds=N} seeds per pair and scenario, 3 by default (enough for CI
 * on 2 cores; raise it for a deeper sweep).
 */
class PairwiseConsolidatedTest {
  private static final int SEEDS = Integer.getInteger("mmulab.pairSeeds", 3);

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
            .as(
                "%s on %s, seed %d: %s%n%s",
                pair.name(), s.name(), seed, verdict.summary(), run.describe(60))
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

  /** A verb of one device. */
  private interface Verb<T> {
    T on(DriverAdapter dev) throws ErrnoException;
  }

  /**
   * Every verb but {@link #submit} goes to both devices, the first then the second; teardown in
   * reverse. {@code EAGAIN} from one device is tolerated when the other served the call: it says
   * "busy, try later", as the grant device answers for a slot whose old grant waits for a pin the
   * other device still holds (a GPU keeps the pins of a userptr object until its next use). Any
   * other error, or both devices failing, fails the call.
   */
  private record PairAdapter(String driver, DriverAdapter first, DriverAdapter second)
      implements DriverAdapter {
    private <T> T both(Verb<T> verb) throws ErrnoException {
      ErrnoException busy = null;
      T result = null;
      for (DriverAdapter dev : new DriverAdapter[] {first, second}) {
        try {
          result = verb.on(dev);
        } catch (ErrnoException e) {
          if (e.errno() != Errno.EAGAIN || busy != null) {
            throw e;
          }
          busy = e;
        }
      }
      return result;
    }

    @Override
    public DriverVariant variant() {
      return DriverVariant.CONSOLIDATED;
    }

    @Override
    public long[] read(long va, int words) throws ErrnoException {
      return both(dev -> dev.read(va, words));
    }

    @Override
    public void write(long va, long[] data) throws ErrnoException {
      both(
          dev -> {
            dev.write(va, data);
            return null;
          });
    }

    @Override
    public void prefetch(long va, long length, boolean write) throws ErrnoException {
      both(
          dev -> {
            dev.prefetch(va, length, write);
            return null;
          });
    }

    /**
     * The first device reads the job's words (its translations are used) and the second runs the
     * job: two devices writing the same words asynchronously would reorder the scenario's jobs.
     */
    @Override
    public JobFence submit(long va, int words, long[] data) throws ErrnoException {
      try {
        first.read(va, words);
      } catch (ErrnoException e) {
        // a racing access may fail; the job is the second device's
      }
      return second.submit(va, words, data);
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
