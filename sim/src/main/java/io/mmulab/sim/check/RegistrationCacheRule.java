package io.mmulab.sim.check;

import static io.mmulab.sim.check.CoherencyChecker.NO_OP;

import io.mmulab.api.driver.ViolationKind;
import org.jspecify.annotations.Nullable;

/**
 * {@link ViolationKind#STALE_USE} for {@code REGISTRATION_CACHE} devices: no new use of an
 * invalidated entry. Their entries pin pages, so an operation already in flight when its entry is
 * invalidated may finish on them; an operation begun afterwards may not use the entry.
 *
 * <p>Checked at {@code deviceAccess}. The use is the operation's {@code beginOperation} for an
 * access made with its token, else the access itself; it is stale if the entry was invalidated
 * before it, or the CPU entry mapped another frame (or none) since before it.
 */
final class RegistrationCacheRule {
  private final EventLog log;

  RegistrationCacheRule(EventLog log) {
    this.log = log;
  }

  /**
   * An access at event {@code now} for {@code operation} (or {@link CoherencyChecker#NO_OP})
   * through {@code t} (null if none was recorded); {@code cpu} is the CPU entry at {@code va}, null
   * if it never changed.
   */
  void checkAccess(
      Device d,
      long operation,
      String mm,
      long va,
      long pfn,
      @Nullable Translation t,
      @Nullable CpuPte cpu,
      long now) {
    long use = operation == NO_OP ? now : operation;
    if (t != null && t.invalidatedTick != 0 && t.invalidatedTick < use) {
      log.violation(
          ViolationKind.STALE_USE,
          d.id,
          mm,
          va,
          pfn,
          user(operation)
              + " uses cache entry "
              + t
              + ", invalidated at #"
              + t.invalidatedTick
              + " (a new use of an invalidated entry)");
    } else if (cpu != null && cpu.pfn() != pfn && cpu.tick() < use) {
      log.violation(
          ViolationKind.STALE_USE,
          d.id,
          mm,
          va,
          pfn,
          StaleUseRule.cpuMapsAnother(user(operation), pfn, t, cpu));
    }
  }

  private static String user(long operation) {
    return operation == NO_OP ? "the access" : "an operation begun at #" + operation;
  }
}
