package io.mmulab.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.driver.DriverVariant;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ConformanceOptionsTest {
  private Properties saved;

  @BeforeEach
  void saveProperties() {
    saved = (Properties) System.getProperties().clone();
  }

  @AfterEach
  void restoreProperties() {
    System.setProperties(saved);
  }

  @Test
  void noProperties_giveTheSmallDefaults() {
    for (String p : new String[] {"seed", "seeds", "raceSeeds", "scenario", "variant"}) {
      System.clearProperty("mmulab." + p);
    }

    ConformanceOptions o = ConformanceOptions.fromSystemProperties();

    assertThat(o.firstSeed()).isEqualTo(1);
    assertThat(o.seeds()).isEqualTo(ConformanceOptions.DEFAULT_SEEDS);
    assertThat(o.raceSeeds()).isEqualTo(ConformanceOptions.DEFAULT_RACE_SEEDS);
    assertThat(o.runs("munmap-vs-fault")).isTrue();
    assertThat(o.runs(DriverVariant.LEGACY)).isTrue();
  }

  @Test
  void replayProperties_selectOneSeedOfOneScenarioAndVariant() {
    set(
        Map.of(
            "mmulab.seed", "42",
            "mmulab.seeds", "1",
            "mmulab.scenario", "munmap-vs-fault",
            "mmulab.variant", "legacy"));

    ConformanceOptions o = ConformanceOptions.fromSystemProperties();

    assertThat(o.firstSeed()).isEqualTo(42);
    assertThat(o.seeds()).isEqualTo(1);
    assertThat(o.raceSeeds()).isEqualTo(ConformanceOptions.DEFAULT_RACE_SEEDS);
    assertThat(o.scenarios()).containsExactly("munmap-vs-fault");
    assertThat(o.variants()).containsExactly(DriverVariant.LEGACY);
    assertThat(o.runs("fork-cow-writable")).isFalse();
  }

  @Test
  void moreSeeds_raiseTheRaceBudgetToo() {
    set(Map.of("mmulab.seeds", "1000"));

    assertThat(ConformanceOptions.fromSystemProperties().raceSeeds()).isEqualTo(1000);
  }

  @Test
  void badValues_areRejectedNamingTheProperty() {
    set(Map.of("mmulab.seeds", "many"));
    assertThatThrownBy(ConformanceOptions::fromSystemProperties)
        .hasMessage("-Dmmulab.seeds=many is not a number");

    set(Map.of("mmulab.seeds", "5", "mmulab.scenario", "munmap"));
    assertThatThrownBy(ConformanceOptions::fromSystemProperties)
        .hasMessageStartingWith("unknown scenario 'munmap'; known scenarios:");
  }

  @Test
  void only_filtersScenariosAndVariants() {
    ConformanceOptions o =
        ConformanceOptions.defaults()
            .only(Set.of("fence-never-signals"), Set.of(DriverVariant.CONSOLIDATED));

    assertThat(o.runs("fence-never-signals")).isTrue();
    assertThat(o.runs("munmap-vs-fault")).isFalse();
    assertThat(o.runs(DriverVariant.LEGACY)).isFalse();
  }

  private static void set(Map<String, String> properties) {
    properties.forEach(System::setProperty);
  }
}
