package io.mmulab.testkit;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.check.Violation;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A short run on real threads: CPU threads changing the address space and device threads using it,
 * as fast as they can.
 *
 * @param driver the driver's name
 * @param variant the variant
 * @param seed the seed of the threads' random choices (the interleaving itself is not reproducible)
 * @param opsPerThread operations each thread was to do
 * @param calls how the operations ended, by thread kind, verb and errno
 * @param violations what the checker stored
 * @param violationCount how many it reported
 * @param allowedKinds violation kinds the variant's declared races allow (none for consolidated)
 * @param errors throwables other than errnos, and threads that did not finish in time, with their
 *     stacks
 * @param elapsed wall-clock time
 */
public record StressResult(
    String driver,
    DriverVariant variant,
    long seed,
    int opsPerThread,
    Map<String, Long> calls,
    List<Violation> violations,
    long violationCount,
    Set<ViolationKind> allowedKinds,
    List<String> errors,
    Duration elapsed) {

  /** Copies. */
  public StressResult {
    calls = Map.copyOf(calls);
    violations = List.copyOf(violations);
    allowedKinds = Set.copyOf(allowedKinds);
    errors = List.copyOf(errors);
  }

  /**
   * Tells whether the run finished, threw nothing unexpected and reported only allowed kinds.
   *
   * @return true if passed
   */
  public boolean passed() {
    return errors.isEmpty()
        && violations.stream().allMatch(v -> allowedKinds.contains(v.kind()))
        && (violationCount == violations.size() || !allowedKinds.isEmpty());
  }

  /**
   * Describes the run.
   *
   * @return multi-line text
   */
  public String message() {
    StringBuilder sb =
        new StringBuilder(
            String.format(
                "stress %s/%s on real threads (seed %d, %d ops per thread): %s, %d violation(s),"
                    + " %d ms%n  calls: %s%n",
                driver,
                variant,
                seed,
                opsPerThread,
                passed() ? "passed" : "FAILED",
                violationCount,
                elapsed.toMillis(),
                calls));
    errors.forEach(e -> sb.append("  error: ").append(e).append('\n'));
    violations.stream()
        .filter(v -> !allowedKinds.contains(v.kind()))
        .findFirst()
        .ifPresent(v -> sb.append(v).append('\n'));
    return sb.toString();
  }
}
