package io.mmulab.api.driver;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A race a driver variant keeps on purpose, as its original did: declared once, with every scenario
 * that exposes it. The conformance suite must find it in each of those scenarios within its seed
 * budget, and any violation not covered by a declared race fails the suite.
 *
 * <p>A race covers a run's violation when the run's scenario is one of {@link #scenarios()} and the
 * violation's kind is one of {@link #kinds()}; {@link ViolationKind#DEADLOCK} and {@link
 * ViolationKind#LIVELOCK} make a run that the scheduler ended that way a finding of the race.
 *
 * @param name a short identifier, such as {@code "gup-after-start"}
 * @param scenarios the scenarios that expose it, in the order to report them; not empty, no
 *     duplicates
 * @param kinds the violation kinds it produces (one access can break several rules)
 * @param description the race as a CPU/device timeline, in a sentence or two
 */
public record DeclaredRace(
    String name, List<String> scenarios, Set<ViolationKind> kinds, String description) {
  /**
   * Validates the fields and copies the collections.
   *
   * @throws IllegalArgumentException if the name or a scenario is blank, no scenario or no kind is
   *     given, or a scenario is named twice
   */
  public DeclaredRace {
    Objects.requireNonNull(name, "name is null");
    Objects.requireNonNull(description, "description is null");
    scenarios = List.copyOf(scenarios);
    kinds = Set.copyOf(kinds);
    if (name.isBlank()) {
      throw new IllegalArgumentException("race name must not be blank");
    }
    if (scenarios.isEmpty()) {
      throw new IllegalArgumentException("race " + name + " names no scenario");
    }
    Set<String> seen = new HashSet<>();
    for (String s : scenarios) {
      if (s.isBlank()) {
        throw new IllegalArgumentException("race " + name + " names a blank scenario");
      }
      if (!seen.add(s)) {
        throw new IllegalArgumentException("race " + name + " names scenario " + s + " twice");
      }
    }
    if (kinds.isEmpty()) {
      throw new IllegalArgumentException("race " + name + " declares no violation kind");
    }
  }

  /**
   * A race exposed by one scenario.
   *
   * @param name a short identifier
   * @param scenario the scenario that exposes it
   * @param kinds the violation kinds it produces
   * @param description the race as a CPU/device timeline
   * @throws IllegalArgumentException as the canonical constructor
   */
  public DeclaredRace(String name, String scenario, Set<ViolationKind> kinds, String description) {
    this(name, List.of(Objects.requireNonNull(scenario, "scenario is null")), kinds, description);
  }

  /**
   * Tells whether {@code scenario} exposes this race.
   *
   * @param scenario a scenario name
   * @return true if it is one of {@link #scenarios()}
   */
  public boolean exposedBy(String scenario) {
    return scenarios.contains(scenario);
  }
}
