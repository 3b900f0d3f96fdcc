package io.mmulab.driver.nouveau;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The orderings of MIGRATION.md on real threads, with the CPU operation injected at the fault
 * path's named point (after {@code hmm_range_fault}, before {@code svmm->mutex}):
 *
 * <ul>
 *   <li>F1: munmap in that window. The per-fault interval notifier runs <em>before</em> the classic
 *       notifier (the ordering the consolidated design relies on), the fault retries and is
 *       cancelled ({@code EFAULT}), nothing stale is written.
 *   <li>The legacy race as a fixed script: a migration (under {@code mmap_lock} read, on another
 *       thread) runs its whole start..end in that window; legacy maps the freed frame, consolidated
 *       retries and maps the new one.
 *   <li>F3: after fini, invalidations touch no hardware and the checker stays clean.
 * </ul>
 */
class NouveauOrderingTest {
  private static final long PAGE = PhysicalMemory.PAGE_SIZE;

  private final NouveauFactory factory = new NouveauFactory();
  private SyncRuntime rt;
  private CoherencyChecker checker;
  private SimMachine machine;
  private SimProcess proc;
  private long base;
  private NouveauAdapter dev;

  @BeforeEach
  void setUp() throws ErrnoException {
    rt = RealSyncRuntime.get();
    checker = new CoherencyChecker();
    machine = new SimMachine(rt, new PhysicalMemory(rt, 256, checker));
    proc = machine.spawnProcess("app");
    base =
        proc.mmap(
            0, 2 * PAGE, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    proc.store(base, 100);
    proc.store(base + PAGE, 101);
  }

  @AfterEach
  void tearDown() {
    if (dev != null) {
      dev.teardown();
    }
  }

  private NouveauAdapter open(DriverVariant variant) throws ErrnoException {
    dev = (NouveauAdapter) factory.create(variant, proc, machine);
    return dev;
  }

  /** Runs {@code op} once, the first time the fault path reaches the window. */
  private void onceAfterLookup(NouveauAdapter a, CpuOp op) {
    AtomicBoolean done = new AtomicBoolean();
    a.svmm()
        .core()
        .setAfterLookupHook(
            () -> {
              if (done.compareAndSet(false, true)) {
                try {
                  op.run();
                } catch (ErrnoException e) {
                  throw new AssertionError(e);
                }
              }
            });
  }

  /** Runs {@code op} to completion on another thread (it may need the mmap lock for read). */
  private static CpuOp onOtherThread(CpuOp op) {
    return () -> {
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread t =
          new Thread(
              () -> {
                try {
                  op.run();
                } catch (Throwable e) {
                  failure.set(e);
                }
              },
              "cpu");
      t.start();
      try {
        t.join();
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
      if (failure.get() != null) {
        throw new AssertionError(failure.get());
      }
    };
  }

  private interface CpuOp {
    void run() throws ErrnoException;
  }

  @Test
  void
      consolidated_munmapBetweenLookupAndMutex_intervalBumpsBeforeClassicClearsAndFaultIsCancelled()
          throws ErrnoException {
    NouveauAdapter a = open(DriverVariant.CONSOLIDATED);
    onceAfterLookup(a, () -> proc.munmap(base, PAGE));

    assertThatThrownBy(() -> a.prefetch(base, PAGE, false))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT));

    // The core calls the interval subscription (seq bump under svmm->mutex) first, then the
    // classic notifier that clears GPU PTEs; readRetry then sees the bump.
    assertThat(a.svmm().callbackLog()).containsExactly("interval", "classic");
    assertThat(a.svmm().vm().mmu().mappedPages()).isZero();
    assertThat(a.read(base + PAGE, 1)).containsExactly(101L);
    a.teardown();
    checker.assertClean();
  }

  @Test
  void consolidated_migrationBetweenLookupAndMutex_retriesAndMapsTheNewFrame()
      throws ErrnoException {
    NouveauAdapter a = open(DriverVariant.CONSOLIDATED);
    onceAfterLookup(a, onOtherThread(() -> proc.migrate(base, base + PAGE, null)));

    a.prefetch(base, PAGE, false);

    assertThat(a.svmm().callbackLog()).containsExactly("interval", "classic");
    assertThat(a.read(base, 1)).containsExactly(100L);
    a.teardown();
    checker.assertClean();
  }

  @Test
  void legacy_migrationBetweenLookupAndMutex_validFlagResetMapsTheFreedFrame()
      throws ErrnoException {
    NouveauAdapter a = open(DriverVariant.LEGACY);
    onceAfterLookup(a, onOtherThread(() -> proc.migrate(base, base + PAGE, null)));

    a.prefetch(base, PAGE, false); // the range was valid again when checked: no retry

    assertThat(a.svmm().callbackLog()).containsExactly("classic");
    assertThat(checker.violations().stream().map(Violation::kind).collect(Collectors.toSet()))
        .as("checker trace:%n%s", checker.trace())
        .containsAll(NouveauFactory.VALID_FLAG_RESET.kinds());
  }

  @Test
  void consolidated_invalidationAfterFini_touchesNoHardware() throws ErrnoException {
    NouveauAdapter a = open(DriverVariant.CONSOLIDATED);
    a.prefetch(base, 2 * PAGE, false);
    assertThat(a.svmm().vm().mmu().mappedPages()).isEqualTo(2);

    a.svmm().gpu().shutdownNow(); // the channel is gone
    a.svmm().core().fini(); // svmm->vmm = NULL (the VMM's page tables go with it)
    assertThat(a.svmm().vm().mmu().mappedPages()).isZero();

    proc.munmap(base, 2 * PAGE); // the classic notifier is still registered: it must skip
    assertThat(a.svmm().callbackLog()).containsExactly("classic");
    assertThat(checker.trace()).noneMatch(e -> e.contains("callbackEntered"));
    a.teardown();
    checker.assertClean();
  }
}
