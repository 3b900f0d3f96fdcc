package io.mmulab.testkit;

import io.mmulab.api.driver.DeclaredRace;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * One declared race in one of the scenarios that expose it: what the conformance suite must find,
 * and what a race reproduction pins a seed for.
 *
 * @param race the race
 * @param scenario one of {@code race.scenarios()}
 */
public record RaceScenario(DeclaredRace race, String scenario) {
  /**
   * Validates the pair.
   *
   * @throws IllegalArgumentException if the race does not name the scenario
   */
  public RaceScenario {
    Objects.requireNonNull(race, "race is null");
    Objects.requireNonNull(scenario, "scenario is null");
    if (!race.exposedBy(scenario)) {
      throw new IllegalArgumentException(
          "race " + race.name() + " names " + race.scenarios() + ", not " + scenario);
    }
  }

  /**
   * Returns every (race, scenario) pair of {@code races}, race by race in declaration order.
   *
   * @param races declared races
   * @return the pairs
   */
  public static Stream<RaceScenario> of(List<DeclaredRace> races) {
    return races.stream().flatMap(r -> r.scenarios().stream().map(s -> new RaceScenario(r, s)));
  }

  /** Returns {@code name (scenario)}, as the suite and the CLI print it. */
  @Override
  public String toString() {
    return race.name() + " (" + scenario + ")";
  }
}
