package io.mmulab.sim.dev;

import static io.mmulab.sim.check.CoherencyChecker.NO_PFN;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;

/**
 * A tiny machine for device tests: memory, checker, and a stand-in for the address space {@link
 * #MM} that tells the checker about CPU page-table changes the way the mm code does.
 */
final class Rig {
  static final String MM = "mm#1";
  static final long PAGE = PhysicalMemory.PAGE_SIZE;
  static final long VA = 0x40_0000L;

  final SyncRuntime rt;
  final CoherencyChecker checker = new CoherencyChecker(64, 100);
  final PhysicalMemory memory;

  /** Must be built on a thread allowed to use {@code rt} (a simulated one when deterministic). */
  Rig(SyncRuntime rt) {
    this.rt = rt;
    this.memory = new PhysicalMemory(rt, 64, checker);
  }

  DeviceMmu.Builder device(String id) {
    return DeviceMmu.builder(rt, memory, id, MM);
  }

  DeviceMmu device(String id, CoherencyModel model) {
    return device(id).model(model).build();
  }

  /** Faults in a CPU page at {@code va} holding {@code words} from offset 0; returns its pfn. */
  long cpuPage(long va, long... words) {
    long pfn;
    try {
      pfn = memory.alloc("anon " + Long.toHexString(va));
    } catch (ErrnoException e) {
      throw new AssertionError(e);
    }
    for (int i = 0; i < words.length; i++) {
      memory.writeLong(pfn, i * 8, words[i]);
    }
    checker.cpuPteChanged(MM, va, NO_PFN, pfn, false, true);
    return pfn;
  }

  /**
   * munmap of one page as the kernel orders it: the invalidate callback ({@code zap} is what the
   * driver does inside it), then the CPU entry goes, then the frame is freed.
   */
  void munmap(String deviceId, long va, long pfn, Runnable zap) {
    checker.invalidateCallbackEntered(deviceId, null, MM, va, va + PAGE);
    zap.run();
    checker.invalidateCallbackReturned(deviceId, MM, va, va + PAGE, 1);
    checker.cpuPteChanged(MM, va, pfn, NO_PFN, true, false);
    memory.put(pfn);
  }
}
