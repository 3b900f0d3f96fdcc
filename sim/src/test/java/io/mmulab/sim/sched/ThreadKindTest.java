package io.mmulab.sim.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ThreadKindTest {
  private final String saved = System.getProperty(ThreadKind.PROPERTY);

  @AfterEach
  void restoreProperty() {
    if (saved == null) {
      System.clearProperty(ThreadKind.PROPERTY);
    } else {
      System.setProperty(ThreadKind.PROPERTY, saved);
    }
  }

  @Test
  void default_isTheFastestKindTheJdkHas() {
    System.clearProperty(ThreadKind.PROPERTY);
    assertThat(ThreadKind.selected())
        .isEqualTo(ThreadKind.virtualAvailable() ? ThreadKind.VIRTUAL : ThreadKind.PLATFORM);
    assertThat(SchedulerConfig.ofSeed(1).threads()).isEqualTo(ThreadKind.selected());
  }

  @Test
  void property_selectsAKind() {
    System.setProperty(ThreadKind.PROPERTY, " Platform ");
    assertThat(ThreadKind.selected()).isEqualTo(ThreadKind.PLATFORM);
    assertThat(SchedulerConfig.ofSeed(1).threads()).isEqualTo(ThreadKind.PLATFORM);
  }

  @Test
  void property_namingNoKind_isRefusedWithItsValue() {
    System.setProperty(ThreadKind.PROPERTY, "green");
    assertThatThrownBy(ThreadKind::selected)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-Dmmulab.sim.threads=green")
        .hasMessageContaining("platform or virtual");
  }

  @Test
  void virtual_onAJdkWithoutThem_isRefused() {
    assumeFalse(ThreadKind.virtualAvailable(), "this JDK has virtual threads");
    System.setProperty(ThreadKind.PROPERTY, "virtual");
    assertThatThrownBy(ThreadKind::selected)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs JDK 21");
  }

  @Test
  void theBuildOpensJavaLang_soEachRunCarriesItsOwnVirtualThreads() {
    assumeTrue(ThreadKind.virtualAvailable(), "virtual threads need JDK 21+");
    assertThat(ThreadKind.ownCarrierAvailable())
        .as("surefire's --add-opens java.base/java.lang=ALL-UNNAMED (the jdk21+ profile)")
        .isTrue();
  }

  @Test
  void bothKinds_giveTheSameChoicesTraceAndOutcome() {
    assumeTrue(ThreadKind.virtualAvailable(), "virtual threads need JDK 21+");
    List<Consumer<DeterministicRuntime>> programs =
        List.of(Programs::contended, rt -> Programs.counter(rt, true), Programs::abba);
    List<Outcome> outcomes = new ArrayList<>();
    for (Consumer<DeterministicRuntime> program : programs) {
      for (long seed = 1; seed <= 30; seed++) {
        SchedulerConfig config = SchedulerConfig.ofSeed(seed);
        RunResult platform = Simulation.run(config.withThreads(ThreadKind.PLATFORM), program);
        RunResult virtual = Simulation.run(config.withThreads(ThreadKind.VIRTUAL), program);
        assertThat(virtual.choices()).as("seed %d", seed).isEqualTo(platform.choices());
        assertThat(virtual.trace())
            .as(
                "seed %d, first difference at %d",
                seed, virtual.trace().firstDifference(platform.trace()))
            .isEqualTo(platform.trace());
        assertThat(virtual.outcome()).as("seed %d", seed).isEqualTo(platform.outcome());
        assertThat(virtual.report()).as("seed %d", seed).doesNotContain("did not unwind");
        outcomes.add(virtual.outcome());
      }
    }
    assertThat(outcomes)
        .as("the programs end well and in deadlock")
        .contains(Outcome.OK, Outcome.DEADLOCK);
  }

  @Test
  void aRunStartedFromAVirtualThread_runsOnTheSharedCarriers() throws Exception {
    assumeTrue(ThreadKind.virtualAvailable(), "virtual threads need JDK 21+");
    SchedulerConfig config = SchedulerConfig.ofSeed(7).withThreads(ThreadKind.VIRTUAL);
    RunResult direct = Simulation.run(config, Programs::contended);
    RunResult[] nested = new RunResult[1];
    Thread outer =
        ThreadKind.VIRTUAL.newThread(
            "outer", () -> nested[0] = Simulation.run(config, Programs::contended));
    outer.start();
    outer.join();
    assertThat(nested[0].trace()).isEqualTo(direct.trace());
    assertThat(nested[0].outcome()).isEqualTo(Outcome.OK);
  }
}
