package io.mmulab.testkit;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.Scenarios;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * One seed of one scenario on one variant, to run alone: {@code
 * -Dmmulab.replay=<variant>:<scenario>:<seed>} makes {@link DriverConformanceSuite} run just that
 * run — no sweep, no shrinking, no declared-race search, no stress — and print it whole.
 *
 * @param variant the variant
 * @param scenario the scenario's name
 * @param seed the seed
 */
public record SeedReplay(DriverVariant variant, String scenario, long seed) {
  /** The system property that asks for a seed replay. */
  public static final String PROPERTY = "mmulab.replay";

  /**
   * Validates.
   *
   * @throws IllegalArgumentException for an unknown scenario, listing the known ones
   */
  public SeedReplay {
    Objects.requireNonNull(variant, "variant is null");
    Scenarios.byName(Objects.requireNonNull(scenario, "scenario is null"));
  }

  /**
   * Returns the replay {@code -Dmmulab.replay} asks for, if it is set.
   *
   * @return the replay, or empty if the property is unset or blank
   * @throws IllegalArgumentException naming the property and its bad value
   */
  public static Optional<SeedReplay> fromSystemProperties() {
    String s = System.getProperty(PROPERTY);
    return s == null || s.isBlank() ? Optional.empty() : Optional.of(parse(s));
  }

  /**
   * Parses {@code <variant>:<scenario>:<seed>}, the variant in any case.
   *
   * @param text the property's value
   * @return the replay
   * @throws IllegalArgumentException naming the property and the bad value
   */
  public static SeedReplay parse(String text) {
    String[] parts = text.strip().split(":", -1);
    if (parts.length != 3) {
      throw bad(text, "expected <variant>:<scenario>:<seed>");
    }
    DriverVariant variant;
    try {
      variant = DriverVariant.valueOf(parts[0].strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw bad(text, "no variant " + parts[0].strip());
    }
    long seed;
    try {
      seed = Long.parseLong(parts[2].strip());
    } catch (NumberFormatException e) {
      throw bad(text, parts[2].strip() + " is not a seed");
    }
    try {
      return new SeedReplay(variant, parts[1].strip(), seed);
    } catch (IllegalArgumentException e) {
      throw bad(text, e.getMessage());
    }
  }

  /**
   * Returns the replay of one run.
   *
   * @param run the run
   * @return its variant, scenario and seed
   */
  public static SeedReplay of(ScenarioRun run) {
    return new SeedReplay(run.variant(), run.scenario().name(), run.seed());
  }

  /**
   * Returns the property that asks for this replay.
   *
   * @return {@code -Dmmulab.replay=<variant>:<scenario>:<seed>}
   */
  public String property() {
    return "-D" + PROPERTY + "=" + variant + ":" + scenario + ":" + seed;
  }

  private static IllegalArgumentException bad(String text, @Nullable String why) {
    return new IllegalArgumentException("-D" + PROPERTY + "=" + text + ": " + why);
  }
}
