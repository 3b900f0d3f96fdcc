package io.mmulab.sim.check;

import static io.mmulab.sim.check.CoherencyChecker.NO_PFN;
import static io.mmulab.sim.check.CoherencyChecker.PAGE_SHIFT;
import static io.mmulab.sim.check.Format.hex;
import static io.mmulab.sim.check.Format.pte;

import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The checker's mirror of every address space's CPU page table, by page. */
final class CpuPageTables {
  private final Map<String, Map<Long, CpuPte>> byMm = new HashMap<>();

  /** The entry for the page of {@code va}, or null if it never changed. */
  @Nullable CpuPte get(String mm, long va) {
    Map<Long, CpuPte> ptes = byMm.get(mm);
    return ptes == null ? null : ptes.get(va >>> PAGE_SHIFT);
  }

  /**
   * Records a change, after checking that the old value is the recorded one (a mismatch is a
   * simulator bug).
   */
  void change(
      String mm,
      long va,
      long oldPfn,
      long newPfn,
      boolean oldWritable,
      boolean newWritable,
      long now) {
    Map<Long, CpuPte> ptes = byMm.computeIfAbsent(mm, k -> new HashMap<>());
    long vpn = va >>> PAGE_SHIFT;
    CpuPte prev = ptes.get(vpn);
    if (prev != null
        && (prev.pfn() != oldPfn || (oldPfn != NO_PFN && prev.writable() != oldWritable))) {
      throw new IllegalStateException(
          "cpuPteChanged "
              + mm
              + " va="
              + hex(va)
              + " from "
              + pte(oldPfn, oldWritable)
              + " but the recorded entry is "
              + pte(prev.pfn(), prev.writable())
              + " (#"
              + prev.tick()
              + ")");
    }
    ptes.put(vpn, new CpuPte(newPfn, newPfn != NO_PFN && newWritable, now));
  }
}
