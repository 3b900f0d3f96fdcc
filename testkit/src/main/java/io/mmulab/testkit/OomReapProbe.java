package io.mmulab.testkit;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.OomReaper;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.testkit.scenario.Buffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * How a driver answers the OOM reaper, with nothing else running: the fixed script behind each
 * driver's non-blockable test, on real threads.
 *
 * <p>The process has two private anonymous VMAs of {@value #PAGES} pages filled with {@link
 * Buffer#initial(int)}. The device reads every page of the first ("used") and never touches the
 * second ("untouched"). With the device idle, the OOM reaper makes {@value #ATTEMPTS} attempts with
 * no pause. Then the device reads the used VMA again, the CPU unmaps it with an ordinary
 * (blockable) {@code munmap}, and the device reads it once more: a refused reap must have left the
 * notifier core and the device consistent, so that last read fails with {@code EFAULT}.
 */
public final class OomReapProbe {
  /** Pages per VMA. */
  public static final int PAGES = 2;

  /** Attempts the reaper makes. */
  public static final int ATTEMPTS = 3;

  private static final int FRAMES = 64;

  /**
   * The outcome.
   *
   * @param reapAttempts the reaper's answer: attempts it took, 0 if it gave up
   * @param usedKept whether every page of the used VMA is still present in the CPU page table
   * @param untouchedKept the same for the untouched VMA
   * @param readsAfterReap what the device read from each page of the used VMA after the reap
   * @param readAfterMunmap the errno of the device's read after the munmap, null if it succeeded
   * @param violations what the checker reported over the whole script
   */
  public record Result(
      int reapAttempts,
      boolean usedKept,
      boolean untouchedKept,
      List<Long> readsAfterReap,
      @Nullable Errno readAfterMunmap,
      List<Violation> violations) {
    /** Copies. */
    public Result {
      readsAfterReap = List.copyOf(readsAfterReap);
      violations = List.copyOf(violations);
    }

    /**
     * What a driver that refuses a non-blockable range holding device mappings leaves (i915,
     * radeon): the reaper gives up on the used VMA and reaps the untouched one; the device reads
     * the initial values, faults after the munmap, and the checker is clean.
     *
     * @return the expected outcome
     */
    public static Result gaveUpOnTheUsedVma() {
      return new Result(0, true, false, initialValues(), Errno.EFAULT, List.of());
    }

    /**
     * What a driver that refuses every non-blockable range leaves (nouveau's whole-mm notifier):
     * the reaper gives up on both VMAs; otherwise as {@link #gaveUpOnTheUsedVma()}.
     *
     * @return the expected outcome
     */
    public static Result gaveUpOnEveryVma() {
      return new Result(0, true, true, initialValues(), Errno.EFAULT, List.of());
    }

    /**
     * What a driver that only try-locks leaves (dmirror): reaped at the first attempt, both VMAs
     * emptied, the device reading zero-fill afterwards, faulting after the munmap; checker clean.
     *
     * @return the expected outcome
     */
    public static Result reapedAtOnce() {
      return new Result(1, false, false, Collections.nCopies(PAGES, 0L), Errno.EFAULT, List.of());
    }

    private static List<Long> initialValues() {
      List<Long> values = new ArrayList<>();
      for (int p = 0; p < PAGES; p++) {
        values.add(Buffer.initial(p));
      }
      return values;
    }
  }

  private OomReapProbe() {}

  /**
   * Runs the script.
   *
   * @param factory the driver
   * @param variant one of its variants
   * @return the outcome
   * @throws ErrnoException if a step that must succeed (a mapping, the device's first reads, the
   *     second reads when the reap left the VMA in place) fails
   * @throws IllegalArgumentException if the factory does not offer {@code variant}
   */
  public static Result run(DriverFactory factory, DriverVariant variant) throws ErrnoException {
    Objects.requireNonNull(factory, "factory is null");
    Objects.requireNonNull(variant, "variant is null");
    if (!factory.variants().contains(variant)) {
      throw new IllegalArgumentException(
          "driver " + factory.name() + " has no variant " + variant + ": " + factory.variants());
    }
    SyncRuntime rt = RealSyncRuntime.get();
    CoherencyChecker checker = new CoherencyChecker();
    SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, FRAMES, checker));
    SimProcess process = machine.spawnProcess("oom-victim");
    long used = filledVma(process);
    long untouched = filledVma(process);
    DriverAdapter dev = factory.create(variant, process, machine);
    try {
      for (int p = 0; p < PAGES; p++) {
        dev.read(used + p * AddressSpace.PAGE_SIZE, 1);
      }
      int attempts = new OomReaper(ATTEMPTS, 0).reap(process);
      boolean usedKept = present(process, used);
      List<Long> reads = new ArrayList<>();
      for (int p = 0; p < PAGES; p++) {
        reads.add(dev.read(used + p * AddressSpace.PAGE_SIZE, 1)[0]);
      }
      process.munmap(used, Buffer.pages(PAGES));
      Errno afterMunmap = null;
      try {
        dev.read(used, 1);
      } catch (ErrnoException e) {
        afterMunmap = e.errno();
      }
      return new Result(
          attempts,
          usedKept,
          present(process, untouched),
          reads,
          afterMunmap,
          checker.violations());
    } finally {
      dev.teardown();
      process.exit();
    }
  }

  private static long filledVma(SimProcess process) throws ErrnoException {
    long start =
        process.mmap(
            0,
            Buffer.pages(PAGES),
            Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    for (int p = 0; p < PAGES; p++) {
      process.store(start + p * AddressSpace.PAGE_SIZE, Buffer.initial(p));
    }
    return start;
  }

  private static boolean present(SimProcess process, long start) {
    for (int p = 0; p < PAGES; p++) {
      if (process.pte(start + p * AddressSpace.PAGE_SIZE).type() != PteView.Type.PRESENT) {
        return false;
      }
    }
    return true;
  }
}
