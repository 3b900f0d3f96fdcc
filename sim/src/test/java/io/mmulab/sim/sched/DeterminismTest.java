package io.mmulab.sim.sched;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DeterminismTest {
  @Test
  void sameSeed_givesEqualTraces() {
    Set<Trace> distinct = new HashSet<>();
    for (long seed = 1; seed <= 20; seed++) {
      SchedulerConfig config = SchedulerConfig.ofSeed(seed);
      RunResult first = Simulation.run(config, Programs::contended);
      RunResult second = Simulation.run(config, Programs::contended);
      assertThat(first.outcome()).as("seed %d: %s", seed, first.report()).isEqualTo(Outcome.OK);
      assertThat(second.trace())
          .as(
              "seed %d, first difference at %d",
              seed, first.trace().firstDifference(second.trace()))
          .isEqualTo(first.trace());
      assertThat(second.choices()).as("seed %d", seed).isEqualTo(first.choices());
      assertThat(second.trace().render()).as("seed %d", seed).isEqualTo(first.trace().render());
      assertThat(second.virtualNanos()).as("seed %d", seed).isEqualTo(first.virtualNanos());
      distinct.add(first.trace());
    }
    assertThat(distinct).as("distinct traces over 20 seeds").hasSizeGreaterThan(10);
  }

  @Test
  void recordedChoices_replayToIdenticalTrace() {
    for (long seed = 100; seed < 105; seed++) {
      RunResult seeded = Simulation.run(SchedulerConfig.ofSeed(seed), Programs::contended);
      RunResult replayed = Simulation.replay(seeded, Programs::contended);
      assertThat(replayed.trace())
          .as(
              "seed %d, first difference at %d",
              seed, seeded.trace().firstDifference(replayed.trace()))
          .isEqualTo(seeded.trace());
      assertThat(replayed.choices()).as("seed %d", seed).isEqualTo(seeded.choices());
      assertThat(replayed.outcome()).as("seed %d", seed).isEqualTo(seeded.outcome());
    }
  }

  @Test
  void emptyChoiceList_neverPreempts() {
    RunResult r = Simulation.replay(SchedulerConfig.ofSeed(0), new int[0], Programs::contended);
    assertThat(r.outcome()).as(r.report()).isEqualTo(Outcome.OK);
    assertThat(r.choices()).as("seed 0").allMatch(c -> c == 0);
    assertThat(r.trace().entries().get(0)).isEqualTo(new TraceEntry(0, 0, "main", "spawn waiter"));
  }

  @Test
  void traceEntries_renderCompactly() {
    TraceEntry e = new TraceEntry(3, 3000, "t1", "lock mm#1.mmap_lock");
    assertThat(e).hasToString("#3 @3000ns t1: lock mm#1.mmap_lock");
    Trace t = new Trace(java.util.List.of(e, e));
    assertThat(t.render()).isEqualTo(e + "\n" + e + "\n");
    assertThat(t.toString()).startsWith("Trace of 2 events");
    assertThat(t.firstDifference(new Trace(java.util.List.of(e)))).isEqualTo(1);
  }
}
