package io.mmulab.sim.check;

import static io.mmulab.sim.check.Format.pte;

import io.mmulab.api.driver.ViolationKind;
import org.jspecify.annotations.Nullable;

/**
 * {@link ViolationKind#STALE_USE} for the coherent models ({@code SHADOW_PTE}, {@code FENCE_WAIT}):
 * the device uses only what the CPU page table maps now.
 *
 * <ul>
 *   <li>{@code deviceMapped}: the device maps the frame the CPU maps at that address (else the page
 *       lookup was stale).
 *   <li>{@code cpuPteChanged}: when the CPU entry moves to another frame (or none), the device
 *       holds no live translation of the old frame that no callback invalidated.
 *   <li>{@code deviceAccess}: the translation used was not invalidated before the access, and the
 *       CPU entry did not map another frame (or none) since before it.
 * </ul>
 *
 * <p>Registration caches are held to a weaker form, {@link RegistrationCacheRule}.
 */
final class StaleUseRule {
  private final EventLog log;

  StaleUseRule(EventLog log) {
    this.log = log;
  }

  /** {@code cpu} is the CPU entry at {@code va}, null if it never changed. */
  void checkMapping(Device d, String mm, long va, long pfn, @Nullable CpuPte cpu) {
    if (cpu != null && cpu.pfn() != pfn) {
      log.violation(
          ViolationKind.STALE_USE,
          d.id,
          mm,
          va,
          pfn,
          "maps frame "
              + pfn
              + " but the CPU entry is "
              + pte(cpu.pfn(), cpu.writable())
              + " since #"
              + cpu.tick()
              + ": the page lookup was stale and the retry check missed it");
    }
  }

  /**
   * The CPU entry at {@code va} changes from {@code oldPfn} while the device holds {@code held}, a
   * live translation of it that no callback invalidated.
   */
  void checkCpuPteChanged(
      Device d, String mm, long va, Translation held, long oldPfn, long newPfn, boolean writable) {
    if (newPfn != oldPfn) {
      log.violation(
          ViolationKind.STALE_USE,
          d.id,
          mm,
          va,
          oldPfn,
          "the device still holds translation "
              + held
              + ", never invalidated, while the CPU entry changes to "
              + pte(newPfn, writable)
              + " (no invalidate callback reached this device after the translation was made)");
    }
  }

  /**
   * An access at event {@code now} through {@code t} (null if none was recorded); {@code cpu} is
   * the CPU entry at {@code va}, null if it never changed.
   */
  void checkAccess(
      Device d,
      String mm,
      long va,
      long pfn,
      @Nullable Translation t,
      @Nullable CpuPte cpu,
      long now) {
    if (t != null && t.invalidatedTick != 0 && t.invalidatedTick < now) {
      log.violation(
          ViolationKind.STALE_USE,
          d.id,
          mm,
          va,
          pfn,
          "uses translation "
              + t
              + ", invalidated by a callback that returned at #"
              + t.invalidatedTick);
    } else if (cpu != null && cpu.pfn() != pfn && cpu.tick() < now) {
      log.violation(
          ViolationKind.STALE_USE, d.id, mm, va, pfn, cpuMapsAnother("the access", pfn, t, cpu));
    }
  }

  /** The message for a use of {@code pfn} while the CPU entry maps another frame (or none). */
  static String cpuMapsAnother(String user, long pfn, @Nullable Translation t, CpuPte cpu) {
    return user
        + " uses frame "
        + pfn
        + (t == null ? " (no recorded translation)" : " via " + t)
        + " but the CPU entry is "
        + pte(cpu.pfn(), cpu.writable())
        + " since #"
        + cpu.tick();
  }
}
