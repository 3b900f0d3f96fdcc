package io.mmulab.driver.umemodp;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.sched.FaultPlan;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioContext;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import org.junit.jupiter.api.Test;

/**
 * The liveness cost of the legacy fault path, measured over the scenario library: after {@code
 * -EAGAIN} it waits for the colliding invalidation's completion (at most 1 s), stalling the queue
 * pair and every fault behind it; the consolidated path never waits there (it resumes and faults
 * again, and {@code readBegin} sleeps only while a window that hit its umem is open). Prints, per
 * scenario, the waits, the timeouts and the virtual time stalled over {@value #SEEDS} seeds.
 */
class UmemOdpLivenessTest {
  private static final int SEEDS = 10;

  /** Runs a library scenario and adds up the adapter's completion waits afterwards. */
  private static final class Measured implements Scenario {
    private final Scenario scenario;
    final long[] total = new long[3];

    Measured(Scenario scenario) {
      this.scenario = scenario;
    }

    @Override
    public String name() {
      return scenario.name();
    }

    @Override
    public String description() {
      return scenario.description();
    }

    @Override
    public FaultPlan faults() {
      return scenario.faults();
    }

    @Override
    public void run(ScenarioContext ctx) throws ErrnoException {
      scenario.run(ctx);
      long[] w = ((UmemOdpAdapter) ctx.adapter()).completionWaits();
      for (int i = 0; i < w.length; i++) {
        total[i] += w[i];
      }
    }
  }

  private static long[] measure(DriverVariant variant) {
    long[] all = new long[3];
    ScenarioRunner runner = new ScenarioRunner(new UmemOdpFactory(), variant);
    for (Scenario s : Scenarios.all()) {
      Measured m = new Measured(s);
      for (long seed = 1; seed <= SEEDS; seed++) {
        ScenarioRun run = runner.run(m, seed);
        assertThat(run.outcome() == Outcome.OK || variant == DriverVariant.LEGACY)
            .as("%s", run)
            .isTrue();
      }
      System.out.printf(
          "umem-odp %s %s: %d completion waits, %d timed out, %.3f ms stalled%n",
          variant, s.name(), m.total[0], m.total[1], m.total[2] / 1e6);
      for (int i = 0; i < all.length; i++) {
        all[i] += m.total[i];
      }
    }
    return all;
  }

  @Test
  void legacyFaults_waitForTheInvalidationsCompletion_consolidatedFaultsNever() {
    long[] legacy = measure(DriverVariant.LEGACY);
    long[] consolidated = measure(DriverVariant.CONSOLIDATED);

    assertThat(legacy[0]).as("legacy completion waits").isPositive();
    assertThat(legacy[2]).as("legacy stall time").isPositive();
    assertThat(consolidated).as("consolidated waits, timeouts, stall").containsOnly(0L);
  }
}
