package io.mmulab.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.sched.ThreadKind;
import io.mmulab.testkit.Drivers;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The schedule is the scheduler's alone: every driver × variant × scenario, on a few seeds, gives
 * the same choice list, the same trace and the same verdict whether its simulated threads are
 * platform or virtual threads. Needs a JDK with virtual threads (21+); skipped on 17.
 */
class ThreadKindDeterminismTest {
  private static final int SEEDS = 3;

  @TestFactory
  List<DynamicTest> platformAndVirtualThreadsGiveTheSameRuns() {
    List<DynamicTest> tests = new ArrayList<>();
    for (DriverFactory factory : Drivers.load().factories()) {
      for (DriverVariant variant : factory.variants()) {
        for (Scenario scenario : Scenarios.all()) {
          String name = factory.name() + "/" + variant + " " + scenario.name();
          tests.add(dynamicTest(name, () -> sameRuns(factory, variant, scenario)));
        }
      }
    }
    return tests;
  }

  private static void sameRuns(DriverFactory factory, DriverVariant variant, Scenario scenario) {
    assumeTrue(ThreadKind.virtualAvailable(), "virtual threads need JDK 21+");
    ScenarioRunner runner = new ScenarioRunner(factory, variant);
    ScenarioRunner platform = runner.onThreads(ThreadKind.PLATFORM);
    ScenarioRunner virtual = runner.onThreads(ThreadKind.VIRTUAL);
    for (long seed = 1; seed <= SEEDS; seed++) {
      ScenarioRun p = platform.run(scenario, seed);
      ScenarioRun v = virtual.run(scenario, seed);
      assertThat(p.result().config().threads()).isEqualTo(ThreadKind.PLATFORM);
      assertThat(v.result().config().threads()).isEqualTo(ThreadKind.VIRTUAL);
      assertThat(v.result().choices()).as("choices, seed %d", seed).isEqualTo(p.result().choices());
      assertThat(v.result().trace().firstDifference(p.result().trace()))
          .as("first trace difference, seed %d", seed)
          .isEqualTo(-1);
      assertThat(v.outcome()).as("outcome, seed %d", seed).isEqualTo(p.outcome());
      assertThat(v.violations()).as("violations, seed %d", seed).isEqualTo(p.violations());
      assertThat(v.warnings()).as("warnings, seed %d", seed).isEqualTo(p.warnings());
    }
  }
}
