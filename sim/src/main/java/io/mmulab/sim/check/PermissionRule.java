package io.mmulab.sim.check;

import io.mmulab.api.driver.ViolationKind;
import org.jspecify.annotations.Nullable;

/**
 * {@link ViolationKind#PERMISSION} for the coherent models ({@code SHADOW_PTE}, {@code
 * FENCE_WAIT}): the device never has more permission than the CPU entry it mirrors.
 *
 * <ul>
 *   <li>{@code deviceMapped}: a writable mapping of the frame the CPU maps read-only.
 *   <li>{@code cpuPteChanged}: the CPU entry becomes read-only while the device keeps a writable
 *       live translation of the same frame that no callback invalidated.
 *   <li>{@code deviceAccess}: a write through a read-only translation, or to the frame the CPU maps
 *       read-only at that address.
 * </ul>
 */
final class PermissionRule {
  private final EventLog log;

  PermissionRule(EventLog log) {
    this.log = log;
  }

  /** {@code cpu} is the CPU entry at {@code va}, null if it never changed. */
  void checkMapping(
      Device d, String mm, long va, long pfn, boolean writable, @Nullable CpuPte cpu) {
    if (cpu != null && cpu.pfn() == pfn && writable && !cpu.writable()) {
      log.violation(
          ViolationKind.PERMISSION,
          d.id,
          mm,
          va,
          pfn,
          "maps frame " + pfn + " writable but the CPU entry is read-only since #" + cpu.tick());
    }
  }

  /**
   * The CPU entry at {@code va} changes from {@code oldPfn} while the device holds {@code held}, a
   * live translation of it that no callback invalidated.
   */
  void checkCpuPteChanged(
      Device d, String mm, long va, Translation held, long oldPfn, long newPfn, boolean writable) {
    if (newPfn == oldPfn && held.writable && !writable) {
      log.violation(
          ViolationKind.PERMISSION,
          d.id,
          mm,
          va,
          oldPfn,
          "the device keeps writable translation "
              + held
              + ", never invalidated, while the CPU entry becomes read-only");
    }
  }

  /**
   * A write through {@code t} (null if none was recorded); {@code cpu} is the CPU entry at {@code
   * va}, null if it never changed.
   */
  void checkWrite(
      Device d, String mm, long va, long pfn, @Nullable Translation t, @Nullable CpuPte cpu) {
    if (t != null && !t.writable) {
      log.violation(ViolationKind.PERMISSION, d.id, mm, va, pfn, "writes through read-only " + t);
    } else if (cpu != null && cpu.pfn() == pfn && !cpu.writable()) {
      log.violation(
          ViolationKind.PERMISSION,
          d.id,
          mm,
          va,
          pfn,
          "writes frame " + pfn + " but the CPU entry is read-only since #" + cpu.tick());
    }
  }
}
