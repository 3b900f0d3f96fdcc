package io.mmulab.sim.mm;

import io.mmulab.sim.mem.FrameState;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Which frames of one machine are pages of device-coherent memory ({@code ZONE_DEVICE} pages of a
 * {@code MEMORY_DEVICE_COHERENT} pagemap). The CPU maps such a page with an ordinary present entry
 * and reaches it directly; what sets it apart from system memory is only this record: migration
 * selects it with {@link MigrateVma#SELECT_DEVICE_COHERENT} instead of {@link
 * MigrateVma#SELECT_SYSTEM}, and a long-term pin migrates it to system memory first.
 *
 * <p>A record lives as long as the frame's generation: once the frame is freed (and perhaps
 * allocated again for something else), the record no longer answers.
 *
 * <p>A concurrent map rather than a lock of the runtime: the lookups run on every long-term pin and
 * every collected page, and a machine without coherent memory must not see one scheduling point
 * more than before (an empty map is answered without touching the frames).
 */
final class DeviceCoherentPages {
  private record Owner(DevicePagemap pagemap, long generation) {}

  private final PhysicalMemory memory;
  private final Map<Long, Owner> pages = new ConcurrentHashMap<>();

  DeviceCoherentPages(PhysicalMemory memory) {
    this.memory = memory;
  }

  /** Records the allocated frame {@code pfn} as a page of {@code pagemap}. */
  void add(long pfn, DevicePagemap pagemap) {
    pages.put(pfn, new Owner(pagemap, memory.generation(pfn)));
  }

  /** The coherent pagemap whose page {@code pfn} is now, or null for system memory. */
  @Nullable DevicePagemap pagemapOf(long pfn) {
    Owner o = pages.isEmpty() ? null : pages.get(pfn);
    if (o == null) {
      return null;
    }
    if (memory.state(pfn) != FrameState.ALLOCATED || memory.generation(pfn) != o.generation()) {
      pages.remove(pfn, o);
      return null;
    }
    return o.pagemap();
  }
}
