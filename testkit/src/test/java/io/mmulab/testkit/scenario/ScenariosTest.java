package io.mmulab.testkit.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.sim.sched.FaultPlan;
import org.junit.jupiter.api.Test;

class ScenariosTest {
  @Test
  void library_holdsTheElevenScenarios_byStableName() {
    assertThat(Scenarios.names())
        .containsExactly(
            "munmap-vs-fault",
            "overlapping-invalidations",
            "mprotect-during-write-fault",
            "fork-cow-writable",
            "migrate-during-dma",
            "exit-during-dma",
            "insert-remove-during-invalidation",
            "oom-reap-during-fault",
            "fence-never-signals",
            "munmap-zap-vs-fault",
            "remap-while-cached",
            "vma-split-under-grant",
            "nested-invalidation-vs-register");
    for (Scenario s : Scenarios.all()) {
      assertThat(Scenarios.byName(s.name())).isSameAs(s);
      assertThat(s.description()).isNotBlank();
    }
  }

  @Test
  void byName_unknown_listsTheKnownScenarios() {
    assertThatThrownBy(() -> Scenarios.byName("munmap-vs-falut"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(
            "unknown scenario 'munmap-vs-falut'; known scenarios: munmap-vs-fault,");
  }

  @Test
  void onlyTheFenceScenario_injectsFaults() {
    for (Scenario s : Scenarios.all()) {
      boolean fence = s.name().equals(Scenarios.FENCE_NEVER_SIGNALS);
      assertThat(s.faults().equals(FaultPlan.NONE)).as(s.name()).isEqualTo(!fence);
    }
    assertThat(Scenarios.byName(Scenarios.FENCE_NEVER_SIGNALS).faults().fenceTimeout())
        .isEqualTo(FenceNeverSignals.TIMEOUT_PROBABILITY);
  }
}
