package io.mmulab.sim.scif;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The SCIF card: copies through windows, completion interrupts, drain, the drain rule, and the
 * checker's view of a window whose pages the CPU takes away.
 */
class SimScifTest {
  private static final long PAGE = PhysicalMemory.PAGE_SIZE;

  private final SyncRuntime rt = RealSyncRuntime.get();
  private final CoherencyChecker checker = new CoherencyChecker();
  private final SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, 64, checker));
  private final SimProcess proc = machine.spawnProcess("app");

  private long mapped(int pages) throws ErrnoException {
    long base =
        proc.mmap(
            0,
            pages * PAGE,
            Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    for (int i = 0; i < pages; i++) {
      proc.store(base + i * PAGE, 100 + i);
    }
    return base;
  }

  private long[] pin(long va, int pages) throws ErrnoException {
    long[] pfns = new long[pages];
    proc.mm().mmapLock().downRead();
    try {
      proc.mm().getUserPages(va, pages, Gup.FOLL_PIN | Gup.FOLL_WRITE, pfns);
    } finally {
      proc.mm().mmapLock().upRead();
    }
    return pfns;
  }

  @Test
  void copy_movesWordsBothWays_andInterruptsAfterTheLastDescriptor() throws ErrnoException {
    long base = mapped(2);
    SimScif card = new SimScif(machine);
    ScifDmaWindow w = card.mapWindow(proc.mm().name(), base, pin(base, 2), true, null);
    DmaFence done = new DmaFence(rt, "copy", 1);
    ScifDmaChannel ch = card.channel();
    // Two pages: two descriptors, the interrupt on the second.
    long last = ch.copy(w, card.beginOperation(), base + PAGE - 8, 2, 10, true, done::signal);
    ch.waitFor(last);
    // As in the kernel, the cookie completes before the engine runs the interrupt: wait for both.
    done.waitSignaled();
    assertThat(last).isEqualTo(2);
    assertThat(card.peer().read(11)).isEqualTo(101);

    card.peer().write(20, 4242);
    ch.copy(w, card.beginOperation(), base + 8, 1, 20, false, null);
    ch.drain();
    assertThat(proc.load(base + 8)).isEqualTo(4242);
    assertThat(ch.outstanding(w)).isZero();

    card.destroyWindow(w);
    assertThat(machine.memory().pincount(w.pfnAt(base))).isZero();
    card.shutdown();
    checker.assertClean();
  }

  @Test
  void destroyWindow_withDescriptorsQueued_breaksTheDrainRule_untilDrained() {
    RunResult r =
        Simulation.run(
            SchedulerConfig.ofSeed(1),
            det -> {
              CoherencyChecker c = new CoherencyChecker();
              SimMachine m = new SimMachine(det, new PhysicalMemory(det, 32, c));
              SimProcess p = m.spawnProcess("app");
              AtomicReference<Throwable> thrown = new AtomicReference<>();
              try {
                long base =
                    p.mmap(
                        0,
                        PAGE,
                        Mman.PROT_READ | Mman.PROT_WRITE,
                        Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
                p.store(base, 7);
                long[] pfns = new long[1];
                p.mm().mmapLock().downRead();
                try {
                  p.mm().getUserPages(base, 1, Gup.FOLL_PIN, pfns);
                } finally {
                  p.mm().mmapLock().upRead();
                }
                SimScif card = new SimScif(m, 16, 4);
                ScifDmaWindow w = card.mapWindow(p.mm().name(), base, pfns, false, null);
                card.channel().copy(w, card.beginOperation(), base, 1, 0, true, null);
                try {
                  card.destroyWindow(w); // the engine has not run yet: no scheduling point since
                } catch (IllegalStateException e) {
                  thrown.set(e);
                }
                assertThat(m.memory().pincount(pfns[0])).isEqualTo(1); // nothing was changed
                card.channel().drain();
                card.destroyWindow(w);
                assertThat(m.memory().pincount(pfns[0])).isZero();
                assertThatThrownBy(() -> card.destroyWindow(w))
                    .hasMessageContaining("destroyed twice");
                card.shutdown();
              } catch (ErrnoException e) {
                throw new AssertionError(e);
              }
              assertThat(thrown.get())
                  .isInstanceOf(IllegalStateException.class)
                  .hasMessageContaining("drain rule broken")
                  .hasMessageContaining("1 descriptor(s) still on scif0.dma0");
              c.assertClean();
            });
    assertThat(r.outcome()).as(r.report()).isEqualTo(Outcome.OK);
  }

  @Test
  void newCopyThroughAWindowTheCpuMovedAway_isStale_butOneBegunBeforeIsNot() throws ErrnoException {
    long base = mapped(1);
    SimScif card = new SimScif(machine);
    ScifDmaWindow w = card.mapWindow(proc.mm().name(), base, pin(base, 1), true, "w");
    long before = card.beginOperation();
    proc.munmap(base, PAGE); // no callback reaches the window: the legacy race's aftermath
    card.channel().copy(w, before, base, 1, 0, true, null);
    card.channel().drain();
    assertThat(checker.isClean()).isTrue(); // begun before the CPU entry changed: in flight

    card.channel().copy(w, card.beginOperation(), base, 1, 0, true, null);
    card.channel().drain();
    assertThat(checker.violations(ViolationKind.STALE_USE)).hasSize(1);
    assertThat(card.peer().read(0)).isEqualTo(100); // the pinned old frame, never freed
    assertThat(checker.violations(ViolationKind.USE_AFTER_FREE)).isEmpty();
    card.destroyWindow(w);
    card.shutdown();
  }

  @Test
  void badCopies_areRefusedWithTheBadValue() throws ErrnoException {
    long base = mapped(1);
    SimScif card = new SimScif(machine);
    ScifDmaWindow ro = card.mapWindow(proc.mm().name(), base, pin(base, 1), false, null);
    ScifDmaChannel ch = card.channel();
    long op = card.beginOperation();
    assertThatThrownBy(() -> ch.copy(ro, op, base + PAGE, 1, 0, true, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not inside");
    assertThatThrownBy(() -> ch.copy(ro, op, base, 1, SimScif.DEFAULT_PEER_WORDS, true, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ch.copy(ro, op, base, 1, 0, false, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("read-only");
    assertThatThrownBy(() -> card.mapWindow(proc.mm().name(), base + 8, new long[] {1}, true, null))
        .isInstanceOf(IllegalArgumentException.class);
    card.destroyWindow(ro);
    assertThatThrownBy(() -> ch.copy(ro, op, base, 1, 0, true, null))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("destroyed");
    card.shutdown();
    checker.assertClean();
  }
}
