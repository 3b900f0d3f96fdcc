package io.mmulab.sim.check;

import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/** The frames mapped in one device's IOMMU domain, counted per generation they were mapped for. */
final class IommuMappings {
  /** Frame -> generation mapped for -> mapping count. */
  private final Map<Long, TreeMap<Long, Integer>> byPfn = new HashMap<>();

  /** Generations the frame is mapped for, with their mapping counts, or null if not mapped. */
  @Nullable NavigableMap<Long, Integer> generationsOf(long pfn) {
    return byPfn.get(pfn);
  }

  void map(long pfn, long generation) {
    byPfn.computeIfAbsent(pfn, k -> new TreeMap<>()).merge(generation, 1, Integer::sum);
  }

  /**
   * Removes one mapping of the frame, the one made for the oldest generation first.
   *
   * @return false if the frame is not mapped
   */
  boolean unmap(long pfn) {
    TreeMap<Long, Integer> byGen = byPfn.get(pfn);
    if (byGen == null) {
      return false;
    }
    Map.Entry<Long, Integer> oldest = byGen.firstEntry();
    if (oldest.getValue() == 1) {
      byGen.remove(oldest.getKey());
    } else {
      byGen.put(oldest.getKey(), oldest.getValue() - 1);
    }
    if (byGen.isEmpty()) {
      byPfn.remove(pfn);
    }
    return true;
  }
}
