package io.mmulab.api.driver;

import java.util.Objects;
import java.util.Set;

/**
 * A race a driver variant keeps on purpose, as its original did: the conformance suite must find it
 * within its seed budget, and any violation not covered by a declared race fails the suite.
 *
 * @param name a short identifier, such as {@code "gup-after-start"}
 * @param scenario the scenario that exposes it
 * @param kinds the violation kinds it produces (one access can break several rules)
 * @param description the race as a CPU/device timeline, in a sentence or two
 */
public record DeclaredRace(
    String name, String scenario, Set<ViolationKind> kinds, String description) {
  /**
   * Validates the fields.
   *
   * @throws IllegalArgumentException if the name or scenario is blank or no kind is given
   */
  public DeclaredRace {
    Objects.requireNonNull(name, "name is null");
    Objects.requireNonNull(scenario, "scenario is null");
    Objects.requireNonNull(description, "description is null");
    kinds = Set.copyOf(kinds);
    if (name.isBlank() || scenario.isBlank()) {
      throw new IllegalArgumentException("race name and scenario must not be blank");
    }
    if (kinds.isEmpty()) {
      throw new IllegalArgumentException("race " + name + " declares no violation kind");
    }
  }
}
