package io.mmulab.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.sim.sched.ThreadKind;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScheduleBenchmarkTest {
  @Test
  void fixedSet_isEveryDriverInEveryScenarioOnEverySeed_andRunsClean() {
    List<ScheduleBenchmark.Case> cases = ScheduleBenchmark.cases(ThreadKind.selected());

    assertThat(cases).hasSize(ScheduleBenchmark.CASES);
    assertThat(cases.stream().map(c -> c.runner().factory().name()).distinct())
        .containsExactlyElementsOf(ScheduleBenchmark.DRIVERS);
    long steps = ScheduleBenchmark.runAll(cases);
    assertThat(steps).as("scheduling points of the set").isGreaterThan(100L * cases.size());
    assertThat(ScheduleBenchmark.runAll(cases)).as("the same runs again").isEqualTo(steps);
  }
}
