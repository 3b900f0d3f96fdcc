package io.mmulab.testkit;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.scenario.Scenarios;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The budgets and filters of a conformance run. {@link #fromSystemProperties()} reads them from
 * {@code -Dmmulab.*} properties (the defaults in brackets):
 *
 * <table>
 *   <caption>Properties</caption>
 *   <tr><td>{@code mmulab.seed}</td><td>first seed of every sweep [1]</td></tr>
 *   <tr><td>{@code mmulab.seeds}</td><td>seeds per scenario × variant [{@value #DEFAULT_SEEDS}]
 *       </td></tr>
 *   <tr><td>{@code mmulab.raceSeeds}</td><td>the most seeds a declared race may take to show
 *       [{@value #DEFAULT_RACE_SEEDS}, or {@code mmulab.seeds} if larger]</td></tr>
 *   <tr><td>{@code mmulab.shrinkAttempts}</td><td>replays spent shrinking a failing schedule
 *       [{@value #DEFAULT_SHRINK_ATTEMPTS}; 0 = do not shrink]</td></tr>
 *   <tr><td>{@code mmulab.shrinkRaces}</td><td>shrink the schedule of each race found too [false]
 *       </td></tr>
 *   <tr><td>{@code mmulab.stressOps}</td><td>operations per thread of the real-thread stress run
 *       [{@value #DEFAULT_STRESS_OPS}; 0 = skip it]</td></tr>
 *   <tr><td>{@code mmulab.stressTimeout}</td><td>seconds before a stress run counts as hung
 *       [{@value #DEFAULT_STRESS_TIMEOUT_SECONDS}]</td></tr>
 *   <tr><td>{@code mmulab.scenario}</td><td>comma-separated scenario names to run [all]</td></tr>
 *   <tr><td>{@code mmulab.variant}</td><td>comma-separated variants to run [all]</td></tr>
 * </table>
 *
 * <p>A failure message gives the properties that replay it: {@code -Dmmulab.seed=S
 * -Dmmulab.seeds=1} plus the scenario and variant.
 *
 * @param firstSeed the first seed of every sweep
 * @param seeds seeds per scenario × variant, at least 1
 * @param raceSeeds the budget of each declared race, at least 1
 * @param shrinkAttempts replays spent shrinking a failure, not negative (0: no shrinking)
 * @param shrinkRaces whether to shrink the schedule of each race found
 * @param stressOps operations per thread of the stress run, not negative (0: no stress run)
 * @param stressTimeout how long a stress run may take before it counts as hung
 * @param scenarios scenario names to run; empty for all
 * @param variants variants to run; empty for all
 */
public record ConformanceOptions(
    long firstSeed,
    int seeds,
    int raceSeeds,
    int shrinkAttempts,
    boolean shrinkRaces,
    int stressOps,
    Duration stressTimeout,
    Set<String> scenarios,
    Set<DriverVariant> variants) {

  /** Default seeds per scenario × variant: a few seconds per driver module on JDK 17. */
  public static final int DEFAULT_SEEDS = 100;

  /**
   * Default budget of a declared race in each of its scenarios: the rarest declared today is radeon
   * as-merged's {@code gup-after-start-fixme} in {@code fork-cow-writable}, first at seed 847. A
   * race found early costs nothing more.
   */
  public static final int DEFAULT_RACE_SEEDS = 1000;

  /** Default replays spent shrinking a failure. */
  public static final int DEFAULT_SHRINK_ATTEMPTS = 200;

  /** Default operations per thread of the stress run. */
  public static final int DEFAULT_STRESS_OPS = 2000;

  /** Default time before a stress run counts as hung. */
  public static final int DEFAULT_STRESS_TIMEOUT_SECONDS = 60;

  /**
   * Validates and copies.
   *
   * @throws IllegalArgumentException for a budget out of range or an unknown scenario name
   */
  public ConformanceOptions {
    if (seeds < 1 || raceSeeds < 1 || shrinkAttempts < 0 || stressOps < 0) {
      throw new IllegalArgumentException(
          "bad budgets: seeds "
              + seeds
              + ", raceSeeds "
              + raceSeeds
              + ", shrinkAttempts "
              + shrinkAttempts
              + ", stressOps "
              + stressOps);
    }
    Objects.requireNonNull(stressTimeout, "stressTimeout is null");
    scenarios = Set.copyOf(scenarios);
    variants = variants.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(variants));
    scenarios.forEach(Scenarios::byName); // unknown names fail here, listing the known ones
  }

  /**
   * Returns the defaults: seed 1, {@value #DEFAULT_SEEDS} seeds, races within {@value
   * #DEFAULT_RACE_SEEDS}, everything run.
   *
   * @return the options
   */
  public static ConformanceOptions defaults() {
    return new ConformanceOptions(
        1,
        DEFAULT_SEEDS,
        DEFAULT_RACE_SEEDS,
        DEFAULT_SHRINK_ATTEMPTS,
        false,
        DEFAULT_STRESS_OPS,
        Duration.ofSeconds(DEFAULT_STRESS_TIMEOUT_SECONDS),
        Set.of(),
        Set.of());
  }

  /**
   * Returns the options given by {@code -Dmmulab.*} system properties, defaults elsewhere.
   *
   * @return the options
   * @throws IllegalArgumentException naming a property with a bad value
   */
  public static ConformanceOptions fromSystemProperties() {
    int seeds = intProperty("mmulab.seeds", DEFAULT_SEEDS);
    return new ConformanceOptions(
        longProperty("mmulab.seed", 1),
        seeds,
        intProperty("mmulab.raceSeeds", Math.max(DEFAULT_RACE_SEEDS, seeds)),
        intProperty("mmulab.shrinkAttempts", DEFAULT_SHRINK_ATTEMPTS),
        Boolean.getBoolean("mmulab.shrinkRaces"),
        intProperty("mmulab.stressOps", DEFAULT_STRESS_OPS),
        Duration.ofSeconds(intProperty("mmulab.stressTimeout", DEFAULT_STRESS_TIMEOUT_SECONDS)),
        list("mmulab.scenario"),
        list("mmulab.variant").stream()
            .map(v -> DriverVariant.valueOf(v.toUpperCase(java.util.Locale.ROOT)))
            .collect(Collectors.toSet()));
  }

  /**
   * Returns a copy with another seed range.
   *
   * @param first the first seed
   * @param count seeds per scenario × variant
   * @return the new options
   */
  public ConformanceOptions withSeeds(long first, int count) {
    return new ConformanceOptions(
        first,
        count,
        raceSeeds,
        shrinkAttempts,
        shrinkRaces,
        stressOps,
        stressTimeout,
        scenarios,
        variants);
  }

  /**
   * Returns a copy with another race budget.
   *
   * @param budget seeds a declared race may take
   * @return the new options
   */
  public ConformanceOptions withRaceSeeds(int budget) {
    return new ConformanceOptions(
        firstSeed,
        seeds,
        budget,
        shrinkAttempts,
        shrinkRaces,
        stressOps,
        stressTimeout,
        scenarios,
        variants);
  }

  /**
   * Returns a copy with another shrinking budget.
   *
   * @param attempts replays spent shrinking a failure, 0 to not shrink
   * @return the new options
   */
  public ConformanceOptions withShrinkAttempts(int attempts) {
    return new ConformanceOptions(
        firstSeed,
        seeds,
        raceSeeds,
        attempts,
        shrinkRaces,
        stressOps,
        stressTimeout,
        scenarios,
        variants);
  }

  /**
   * Returns a copy with another stress size.
   *
   * @param opsPerThread operations per thread, 0 to skip the stress run
   * @return the new options
   */
  public ConformanceOptions withStressOps(int opsPerThread) {
    return new ConformanceOptions(
        firstSeed,
        seeds,
        raceSeeds,
        shrinkAttempts,
        shrinkRaces,
        opsPerThread,
        stressTimeout,
        scenarios,
        variants);
  }

  /**
   * Returns a copy that runs only the given scenarios and variants.
   *
   * @param scenarioNames scenario names, empty for all
   * @param onlyVariants variants, empty for all
   * @return the new options
   */
  public ConformanceOptions only(Set<String> scenarioNames, Set<DriverVariant> onlyVariants) {
    return new ConformanceOptions(
        firstSeed,
        seeds,
        raceSeeds,
        shrinkAttempts,
        shrinkRaces,
        stressOps,
        stressTimeout,
        scenarioNames,
        onlyVariants);
  }

  /**
   * Tells whether a scenario passes the filter.
   *
   * @param name a scenario name
   * @return true if it is to run
   */
  public boolean runs(String name) {
    return scenarios.isEmpty() || scenarios.contains(name);
  }

  /**
   * Tells whether a variant passes the filter.
   *
   * @param variant a variant
   * @return true if it is to run
   */
  public boolean runs(DriverVariant variant) {
    return variants.isEmpty() || variants.contains(variant);
  }

  private static int intProperty(String name, int dflt) {
    long v = longProperty(name, dflt);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("-D" + name + "=" + v + " is out of range");
    }
    return (int) v;
  }

  private static long longProperty(String name, long dflt) {
    String s = System.getProperty(name);
    if (s == null || s.isBlank()) {
      return dflt;
    }
    try {
      return Long.parseLong(s.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("-D" + name + "=" + s + " is not a number", e);
    }
  }

  private static Set<String> list(String name) {
    String s = System.getProperty(name, "");
    return Arrays.stream(s.split(","))
        .map(String::strip)
        .filter(x -> !x.isEmpty())
        .collect(Collectors.toSet());
  }
}
