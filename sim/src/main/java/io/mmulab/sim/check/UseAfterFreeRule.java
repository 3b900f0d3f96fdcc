package io.mmulab.sim.check;

import static io.mmulab.sim.check.CoherencyChecker.NO_VA;
import static io.mmulab.sim.check.FrameMirror.UNKNOWN_GENERATION;

import io.mmulab.api.driver.ViolationKind;
import java.util.NavigableMap;
import org.jspecify.annotations.Nullable;

/**
 * {@link ViolationKind#USE_AFTER_FREE}: nobody touches a frame after its last reference was
 * dropped, nor its new contents through a translation or IOMMU mapping made for an earlier
 * generation of it.
 *
 * <ul>
 *   <li>{@code cpuAccess}, {@code kernelAccess}: the frame is freed.
 *   <li>{@code deviceMapped}, {@code domainMap}: the frame mapped is freed.
 *   <li>{@code deviceAccess}: the frame is freed, or the translation used was made for another
 *       generation; else, for a device with an IOMMU domain that maps the frame, no mapping of it
 *       is for its current generation.
 * </ul>
 */
final class UseAfterFreeRule {
  private final EventLog log;

  UseAfterFreeRule(EventLog log) {
    this.log = log;
  }

  /** A CPU or kernel access; {@code who} is the violation's device id. */
  void checkHostAccess(
      String who, @Nullable String mm, long va, long pfn, @Nullable FrameMirror f) {
    if (f != null && f.freed) {
      log.violation(ViolationKind.USE_AFTER_FREE, who, mm, va, pfn, freed("accesses", pfn, f));
    }
  }

  void checkMapping(Device d, String mm, long va, long pfn, @Nullable FrameMirror f) {
    if (f != null && f.freed) {
      log.violation(ViolationKind.USE_AFTER_FREE, d.id, mm, va, pfn, freed("maps", pfn, f));
    }
  }

  void checkDomainMap(Device d, long pfn, @Nullable FrameMirror f) {
    if (f != null && f.freed) {
      log.violation(
          ViolationKind.USE_AFTER_FREE,
          d.id,
          null,
          NO_VA,
          pfn,
          "maps frame " + pfn + " in its IOMMU domain; it was freed at #" + f.tick);
    }
  }

  /**
   * A device access through translation {@code t} (null if none was recorded).
   *
   * @return whether it reported a violation, for {@link #checkDomainAccess}
   */
  boolean checkAccess(
      Device d, String mm, long va, long pfn, @Nullable Translation t, @Nullable FrameMirror f) {
    if (f != null && f.freed) {
      log.violation(ViolationKind.USE_AFTER_FREE, d.id, mm, va, pfn, freed("accesses", pfn, f));
      return true;
    }
    if (f != null
        && t != null
        && t.generation != UNKNOWN_GENERATION
        && t.generation != f.generation) {
      log.violation(
          ViolationKind.USE_AFTER_FREE,
          d.id,
          mm,
          va,
          pfn,
          "accesses frame "
              + pfn
              + " through translation "
              + t
              + " made for gen "
              + t.generation
              + "; the frame was reallocated at #"
              + f.tick
              + " as gen "
              + f.generation
              + " (owner "
              + f.owner
              + ")");
      return true;
    }
    return false;
  }

  /**
   * A device access, judged through the device's IOMMU mappings of the frame, unless {@link
   * #checkAccess} already reported it.
   */
  void checkDomainAccess(
      Device d, String mm, long va, long pfn, @Nullable FrameMirror f, boolean alreadyReported) {
    if (alreadyReported || f == null || d.domain == null) {
      return;
    }
    NavigableMap<Long, Integer> byGen = d.domain.generationsOf(pfn);
    if (byGen != null
        && !byGen.containsKey(f.generation)
        && !byGen.containsKey(UNKNOWN_GENERATION)) {
      log.violation(
          ViolationKind.USE_AFTER_FREE,
          d.id,
          mm,
          va,
          pfn,
          "accesses frame "
              + pfn
              + " through IOMMU mappings made for gen "
              + byGen.keySet()
              + "; the frame was reallocated at #"
              + f.tick
              + " as gen "
              + f.generation);
    }
  }

  private static String freed(String verb, long pfn, FrameMirror f) {
    return verb + " frame " + pfn + ", freed at #" + f.tick + " (gen " + f.generation + ")";
  }
}
