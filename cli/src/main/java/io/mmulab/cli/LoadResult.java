package io.mmulab.cli;

import io.mmulab.api.driver.DriverCounters;
import io.mmulab.sim.check.Violation;
import java.util.ArrayList;
import java.util.List;

/**
 * What a {@link LoadRun} measured.
 *
 * @param driver the driver's name
 * @param seconds how long the threads ran
 * @param deviceOps device operations done (including failed ones)
 * @param deviceErrors device operations that failed with an errno (a page was gone)
 * @param counters what the driver counted while the threads ran (faults, retries, invalidations,
 *     pins)
 * @param cpuOps mm operations done
 * @param violations what the checker stored
 * @param violationCount how many it reported
 * @param errors throwables other than errnos, threads that did not stop
 */
record LoadResult(
    String driver,
    double seconds,
    long deviceOps,
    long deviceErrors,
    DriverCounters counters,
    long cpuOps,
    List<Violation> violations,
    long violationCount,
    List<String> errors) {

  /** Copies the lists. */
  LoadResult {
    violations = List.copyOf(violations);
    errors = List.copyOf(errors);
  }

  /** Returns the driver's device faults per second. */
  long faultsPerSecond() {
    return Math.round(counters.faults() / seconds);
  }

  /** Returns the invalidate callbacks the driver received per second. */
  long invalidationsPerSecond() {
    return Math.round(counters.invalidations() / seconds);
  }

  /** Returns the collisions the driver's retry check saw. */
  long retries() {
    return counters.retries();
  }

  /**
   * Returns what went wrong, one line each: violations (the consolidated variant must stay clean on
   * real threads too) and errors.
   *
   * @return the problems, empty if none
   */
  List<String> problems() {
    List<String> out = new ArrayList<>();
    String who = driver + "/consolidated on real threads: ";
    if (violationCount > 0) {
      out.add(who + violationCount + " violation(s), first: " + violations.get(0).summary());
    }
    errors.forEach(e -> out.add(who + e));
    return out;
  }
}
