package io.mmulab.cli;

import io.mmulab.sim.check.Violation;
import io.mmulab.testkit.scenario.ScenarioRun;
import org.jspecify.annotations.Nullable;

/**
 * The run that first showed something: a declared race, or an undeclared failure.
 *
 * @param run the run (its seed is the first that showed it)
 * @param violation the violation to draw, or null for a failure without one (a deadlock, say)
 * @param what one line saying what it showed
 */
record Finding(ScenarioRun run, @Nullable Violation violation, String what) {
  /**
   * Returns the run's seed.
   *
   * @return the seed
   */
  long seed() {
    return run.seed();
  }

  /**
   * Keeps the finding of the lower seed.
   *
   * @param other another finding of the same thing, or null
   * @return this or {@code other}
   */
  Finding earliest(@Nullable Finding other) {
    return other == null || seed() <= other.seed() ? this : other;
  }
}
