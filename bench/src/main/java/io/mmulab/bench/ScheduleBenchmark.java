package io.mmulab.bench;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.sched.ThreadKind;
import io.mmulab.testkit.Drivers;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 6: the explorer's throughput, deterministic schedules per second, on platform and on
 * virtual threads in the same run. One operation is one whole scenario run (a fresh machine, the
 * scenario's threads, teardown, the checker's verdict); an invocation runs the fixed set {@link
 * #CASES}: every driver of the GPU family and dmirror, consolidated, in three scenarios, on seeds 1
 * to {@value #SEEDS}. The aux counter {@code steps} counts the scheduling points, so steps / runs
 * is the size of a run and the cost of one hand-off follows.
 *
 * <p>Virtual threads need JDK 21+ (run the jar on the Temurin 25); on JDK 17 the {@code virtual}
 * trial fails at set-up with that message. Each fork opens {@code java.lang} so that every run
 * carries its own virtual threads, as {@code ./mmulab} does.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-opens", "java.base/java.lang=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class ScheduleBenchmark {
  /** Seeds per (driver, scenario). */
  static final int SEEDS = 4;

  /** The drivers of the fixed set. */
  static final List<String> DRIVERS = List.of("dmirror", "i915", "radeon", "nouveau");

  /** The scenarios of the fixed set. */
  static final List<String> SCENARIOS =
      List.of(
          Scenarios.MUNMAP_VS_FAULT,
          Scenarios.OVERLAPPING_INVALIDATIONS,
          Scenarios.MPROTECT_DURING_WRITE_FAULT);

  /** Runs per invocation. */
  static final int CASES = 48;

  /** One (driver, scenario, seed) run. */
  record Case(ScenarioRunner runner, Scenario scenario, long seed) {}

  /** Scheduling points of the iteration, per run. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Steps {
    /** Scheduling points, summed over the iteration's runs. */
    public long steps;

    /** Clears the count. */
    @Setup(Level.Iteration)
    public void clear() {
      steps = 0;
    }
  }

  /** {@code platform} or {@code virtual}: the {@link ThreadKind} of the simulated threads. */
  @Param({"platform", "virtual"})
  public String threads;

  private List<Case> cases;

  /** Builds the fixed set on the trial's kind of thread. */
  @Setup(Level.Trial)
  public void setUp() {
    cases = cases(ThreadKind.valueOf(threads.toUpperCase(Locale.ROOT)));
  }

  /** The fixed set of runs on {@code kind} of thread. */
  static List<Case> cases(ThreadKind kind) {
    if (kind == ThreadKind.VIRTUAL && !ThreadKind.virtualAvailable()) {
      throw new IllegalStateException(
          "virtual threads need JDK 21+; this is Java " + Runtime.version().feature());
    }
    Drivers drivers = Drivers.load();
    List<Case> out = new ArrayList<>();
    for (String driver : DRIVERS) {
      ScenarioRunner runner =
          new ScenarioRunner(drivers.get(driver), DriverVariant.CONSOLIDATED).onThreads(kind);
      for (String scenario : SCENARIOS) {
        for (long seed = 1; seed <= SEEDS; seed++) {
          out.add(new Case(runner, Scenarios.byName(scenario), seed));
        }
      }
    }
    if (out.size() != CASES) {
      throw new IllegalStateException(out.size() + " cases, not " + CASES);
    }
    return out;
  }

  /** Runs every case once and checks that each was clean. */
  static long runAll(List<Case> cases) {
    long steps = 0;
    for (Case c : cases) {
      ScenarioRun run = c.runner().run(c.scenario(), c.seed());
      if (!run.isClean()) {
        throw new IllegalStateException("not clean: " + run);
      }
      steps += run.result().steps();
    }
    return steps;
  }

  /**
   * Runs the fixed set. Score: runs (schedules) per second.
   *
   * @param counter the scheduling points
   */
  @Benchmark
  @OperationsPerInvocation(CASES)
  public void schedules(Steps counter) {
    counter.steps += runAll(cases);
  }
}
