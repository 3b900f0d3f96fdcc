package io.mmulab.sim.mm;

import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.FrameState;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.sched.DeterministicRuntime;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The address space under the deterministic scheduler: races with real interleavings. */
class DeterministicMmTest {
  private static final int SEEDS = 25;
  private static final String DEV = "dev0";

  private static void forEverySeed(Consumer<DeterministicRuntime> program) {
    long base = Long.getLong("mmulab.seed", 0L);
    for (long seed = base; seed < base + SEEDS; seed++) {
      RunResult r = Simulation.run(SchedulerConfig.ofSeed(seed), program);
      assertThat(r.outcome()).as("seed %d: %s", seed, r.report()).isEqualTo(Outcome.OK);
    }
  }

  private interface Body {
    void run() throws ErrnoException;
  }

  private static Runnable unchecked(Body body) {
    return () -> {
      try {
        body.run();
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    };
  }

  @Test
  void munmapRacingACpuLoad_seesTheValueOrSigsegv_andFreesTheFrame() {
    Set<Long> outcomes = ConcurrentHashMap.newKeySet();
    forEverySeed(
        rt ->
            unchecked(
                    () -> {
                      CoherencyChecker checker = new CoherencyChecker();
                      SimMachine m = new SimMachine(rt, new PhysicalMemory(rt, 16, checker));
                      SimProcess p = m.spawnProcess("p");
                      long a = p.mmap(0, PAGE, RW, ANON_PRIVATE);
                      p.store(a, 7);
                      long pfn = p.pte(a).pfn();
                      long[] seen = {-2};
                      ThreadHandle cpu =
                          rt.spawn(
                              "cpu",
                              () -> {
                                try {
                                  seen[0] = p.load(a);
                                } catch (ErrnoException e) {
                                  assertThat(e.errno()).isEqualTo(Errno.EFAULT);
                                  seen[0] = -1;
                                }
                              });
                      p.munmap(a, PAGE);
                      cpu.join();
                      assertThat(seen[0]).isIn(7L, -1L);
                      outcomes.add(seen[0]);
                      assertThat(m.memory().state(pfn)).isEqualTo(FrameState.FREED);
                      checker.assertClean();
                    })
                .run());
    assertThat(outcomes).as("both orders were explored").containsExactlyInAnyOrder(7L, -1L);
  }

  /**
   * A correct collision-retry mirror (docs/notifier.md) built on {@code hmmRangeFault} against a
   * concurrent munmap: the device never keeps a translation of the unmapped frame.
   */
  @Test
  void collisionRetryMirror_racingMunmap_neverKeepsAStaleTranslation() {
    Set<String> outcomes = ConcurrentHashMap.newKeySet();
    forEverySeed(
        rt ->
            unchecked(
                    () -> {
                      CoherencyChecker checker = new CoherencyChecker();
                      SimMachine m = new SimMachine(rt, new PhysicalMemory(rt, 16, checker));
                      SimProcess p = m.spawnProcess("p");
                      String mm = p.mm().name();
                      long a = p.mmap(0, PAGE, RW, ANON_PRIVATE);
                      p.store(a, 1);
                      Mutex lock = rt.newMutex("mirror");
                      long[] mapped = {-1};
                      MmuIntervalNotifier sub =
                          p.mm()
                              .insertIntervalNotifier(
                                  a,
                                  PAGE,
                                  (s, range, cur) -> {
                                    checker.invalidateCallbackEntered(
                                        DEV, null, mm, range.start(), range.end());
                                    lock.lock();
                                    try {
                                      s.setSeq(cur);
                                      mapped[0] = -1;
                                      checker.deviceUnmappedRange(
                                          DEV, mm, range.start(), range.end());
                                    } finally {
                                      lock.unlock();
                                    }
                                    checker.invalidateCallbackReturned(
                                        DEV, mm, range.start(), range.end(), cur);
                                    return true;
                                  },
                                  lock);
                      ThreadHandle mirror =
                          rt.spawn(
                              "mirror",
                              unchecked(
                                  () -> {
                                    HmmRange r =
                                        new HmmRange(
                                            sub,
                                            0,
                                            a,
                                            a + PAGE,
                                            new long[1],
                                            REQ_FAULT,
                                            0,
                                            null,
                                            HmmPfnLayout.MAINLINE);
                                    while (true) {
                                      r.setNotifierSeq(sub.readBegin());
                                      r.hmmPfns()[0] = 0;
                                      p.mm().mmapLock().downRead();
                                      try {
                                        p.mm().hmmRangeFault(r);
                                      } catch (ErrnoException e) {
                                        if (e.errno() == Errno.EBUSY) {
                                          continue;
                                        }
                                        assertThat(e.errno()).isEqualTo(Errno.EFAULT);
                                        outcomes.add("efault");
                                        return;
                                      } finally {
                                        p.mm().mmapLock().upRead();
                                      }
                                      lock.lock();
                                      try {
                                        if (sub.readRetry(r.notifierSeq())) {
                                          outcomes.add("retry");
                                          continue;
                                        }
                                        outcomes.add("mapped");
                                        long pfn = r.layout().pfn(r.hmmPfns()[0]);
                                        checker.deviceMapped(DEV, mm, a, pfn, false);
                                        mapped[0] = pfn;
                                        return;
                                      } finally {
                                        lock.unlock();
                                      }
                                    }
                                  }));
                      p.munmap(a, PAGE);
                      mirror.join();
                      assertThat(mapped[0]).as("no translation survives the unmap").isEqualTo(-1);
                      sub.remove();
                      checker.assertClean();
                    })
                .run());
    assertThat(outcomes)
        .as("mapped-then-zapped and EFAULT orders explored")
        .contains("efault", "mapped");
  }

  @Test
  void forkedProcessesWritingWhileReclaimRuns_keepTheirOwnData() {
    forEverySeed(
        rt ->
            unchecked(
                    () -> {
                      CoherencyChecker checker = new CoherencyChecker();
                      SimMachine m = new SimMachine(rt, new PhysicalMemory(rt, 32, checker));
                      SimProcess parent = m.spawnProcess("parent");
                      long a = parent.mmap(0, 2 * PAGE, RW, ANON_PRIVATE);
                      parent.store(a, 1);
                      parent.store(a + PAGE, 2);
                      SimProcess child = parent.fork();
                      ThreadHandle c = rt.spawn("child", unchecked(() -> child.store(a, 10)));
                      ThreadHandle r = rt.spawn("reclaim", () -> parent.reclaim(a, a + 2 * PAGE));
                      parent.store(a + PAGE, 20);
                      c.join();
                      r.join();
                      assertThat(parent.load(a)).isEqualTo(1);
                      assertThat(parent.load(a + PAGE)).isEqualTo(20);
                      assertThat(child.load(a)).isEqualTo(10);
                      assertThat(child.load(a + PAGE)).isEqualTo(2);
                      child.exit();
                      parent.exit();
                      assertThat(m.memory().allocatedFrames()).isZero();
                      assertThat(m.swapSlotsInUse()).isZero();
                      checker.assertClean();
                    })
                .run());
  }

  /**
   * The classic notifier's race (docs/notifier.md) is real here: a driver that looks pages up with
   * GUP after its start callback ran, but before the page-table change of a concurrent {@code
   * madvise(DONTNEED)}, keeps a translation of a frame the CPU no longer maps.
   */
  @Test
  void legacyLookupAfterStart_keepsAStaleTranslation_forSomeSchedule() {
    Consumer<DeterministicRuntime> program =
        rt ->
            unchecked(
                    () -> {
                      CoherencyChecker checker = new CoherencyChecker();
                      SimMachine m = new SimMachine(rt, new PhysicalMemory(rt, 16, checker));
                      SimProcess p = m.spawnProcess("p");
                      String mm = p.mm().name();
                      long a = p.mmap(0, PAGE, RW, ANON_PRIVATE);
                      p.store(a, 1);
                      Mutex lock = rt.newMutex("legacy");
                      MmuIntervalNotifier sub =
                          p.mm()
                              .insertIntervalNotifier(
                                  a,
                                  PAGE,
                                  (s, range, cur) -> {
                                    lock.lock();
                                    try {
                                      checker.deviceUnmappedRange(
                                          DEV, mm, range.start(), range.end());
                                    } finally {
                                      lock.unlock();
                                    }
                                    checker.invalidateCallbackReturned(
                                        DEV, mm, range.start(), range.end(), cur);
                                    return true;
                                  },
                                  lock);
                      ThreadHandle legacy =
                          rt.spawn(
                              "legacy",
                              unchecked(
                                  () -> {
                                    long[] pfns = new long[1];
                                    p.mm().mmapLock().downRead();
                                    try {
                                      p.mm().getUserPages(a, 1, 0, pfns);
                                    } finally {
                                      p.mm().mmapLock().upRead();
                                    }
                                    rt.yieldPoint("legacy: after gup");
                                    lock.lock();
                                    try {
                                      checker.deviceMapped(DEV, mm, a, pfns[0], false);
                                    } finally {
                                      lock.unlock();
                                    }
                                    m.memory().put(pfns[0]);
                                  }));
                      p.madvise(a, PAGE, Madvise.DONTNEED);
                      legacy.join();
                      sub.remove();
                      checker.assertClean();
                    })
                .run();
    Optional<RunResult> found =
        Simulation.findSeed(
            SchedulerConfig.ofSeed(0),
            300,
            r -> r.isFailure() && String.valueOf(r.failure()).contains("STALE_USE"),
            program);
    assertThat(found).as("a schedule with the lookup between start and PTE change").isPresent();
  }
}
