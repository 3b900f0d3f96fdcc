package io.mmulab.sim;

import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DeviceMmu;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.sched.DeterministicRuntime;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The collision-retry pattern (docs/notifier.md) on the whole simulated stack: a device mirror
 * populates its page table with {@code readBegin} → {@code hmmRangeFault} → update lock → {@code
 * readRetry} → program, then DMAs through its translations, while three CPU threads munmap, migrate
 * and mprotect the mirrored range. Every seed is one schedule of the deterministic runtime, judged
 * by the coherency checker.
 *
 * <p>{@code -Dmmulab.seeds=N} changes the sweep (default 1,000), {@code -Dmmulab.seed=S} its first
 * seed.
 */
class CollisionRetrySweepTest {
  private static final long PAGE = AddressSpace.PAGE_SIZE;
  private static final int PAGES = 4;
  private static final String DEVICE = "mirror0";
  private static final int SEEDS = Integer.getInteger("mmulab.seeds", 1_000);
  private static final long FIRST_SEED = Long.getLong("mmulab.seed", 1L);
  private static final int ROUNDS = 3;
  private static final int CPU_DELAY_POINTS = 6;

  @Test
  void collisionRetry_racingMunmapMigrateMprotect_isCleanOnEverySeed() {
    int schedulesWithLockedRetry = 0;
    long busyWalks = 0;
    for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      Mirror.busyWalks = 0;
      Mirror.lockedRetries = 0;
      RunResult r = Simulation.run(SchedulerConfig.ofSeed(seed), program(true));
      assertThat(r.outcome())
          .as(
              "seed %d (replay with -Dmmulab.seed=%d -Dmmulab.seeds=1):%n%s",
              seed, seed, r.report())
          .isEqualTo(Outcome.OK);
      schedulesWithLockedRetry += Mirror.lockedRetries > 0 ? 1 : 0;
      busyWalks += Mirror.busyWalks;
    }
    System.out.printf(
        "collision-retry sweep: %d seeds from %d, 0 violations; readRetry collided under the"
            + " update lock in %d schedules; %d walks ended in EBUSY%n",
        SEEDS, FIRST_SEED, schedulesWithLockedRetry, busyWalks);
    assertThat(schedulesWithLockedRetry)
        .as("some schedules collide where only readRetry can tell")
        .isPositive();
  }

  @Test
  void withoutTheRetryCheck_aStaleTranslationIsCaughtWithinTheSweep() {
    Optional<RunResult> failing =
        Simulation.findSeed(
            SchedulerConfig.ofSeed(FIRST_SEED),
            SEEDS,
            r -> r.outcome() == Outcome.FAILED && String.valueOf(r.failure()).contains("STALE_USE"),
            program(false));
    assertThat(failing).as("a schedule exposing the missing readRetry").isPresent();
    RunResult r = failing.get();
    System.out.printf(
        "collision-retry without readRetry: first failing seed %d (of %d from %d), %d steps%n",
        r.seed(), SEEDS, FIRST_SEED, r.steps());
  }

  private static Consumer<DeterministicRuntime> program(boolean retryCheck) {
    return rt -> {
      try {
        runScenario(rt, retryCheck);
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    };
  }

  private static void runScenario(DeterministicRuntime rt, boolean retryCheck)
      throws ErrnoException {
    CoherencyChecker checker = new CoherencyChecker();
    SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, 64, checker));
    SimProcess p = machine.spawnProcess("p");
    long base =
        p.mmap(
            0,
            PAGES * PAGE,
            Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    for (int i = 0; i < PAGES; i++) {
      p.store(base + i * PAGE, 100 + i);
    }
    Mirror mirror = new Mirror(rt, machine, p, base, retryCheck);
    ThreadHandle device = rt.spawn("mirror", unchecked(mirror::run));
    List<ThreadHandle> cpus =
        List.of(
            cpu(rt, "munmap", () -> p.munmap(base + 3 * PAGE, PAGE)),
            cpu(rt, "migrate", () -> p.migrate(base, base + 2 * PAGE, "migrator")),
            cpu(rt, "mprotect", () -> p.mprotect(base + 2 * PAGE, PAGE, Mman.PROT_READ)));
    device.join();
    for (ThreadHandle t : cpus) {
      t.join();
    }
    mirror.close();
    checker.assertClean(); // the oracle: judged before the values the device read
    mirror.assertReadValues();
  }

  /**
   * A CPU thread that runs a few scheduling points before its operation, so it can land anywhere.
   */
  private static ThreadHandle cpu(DeterministicRuntime rt, String name, Body op) {
    return rt.spawn(
        name,
        unchecked(
            () -> {
              for (int i = 0; i < CPU_DELAY_POINTS; i++) {
                rt.yieldPoint(name + ": not yet");
              }
              op.run();
            }));
  }

  /** A minimal shadow-PTE mirror: one subscription over the range, one device page table. */
  private static final class Mirror {
    static int busyWalks;
    static int lockedRetries;

    private final DeterministicRuntime rt;
    private final SimProcess process;
    private final long base;
    private final boolean retryCheck;
    private final DeviceMmu mmu;
    private final Mutex update;
    private final MmuIntervalNotifier sub;
    private final List<long[]> reads = new ArrayList<>();

    Mirror(DeterministicRuntime rt, SimMachine m, SimProcess p, long base, boolean retryCheck)
        throws ErrnoException {
      this.rt = rt;
      this.process = p;
      this.base = base;
      this.retryCheck = retryCheck;
      String mm = p.mm().name();
      this.mmu = DeviceMmu.builder(rt, m.memory(), DEVICE, mm).build();
      this.update = rt.newMutex(DEVICE + ".update");
      this.sub =
          p.mm()
              .insertIntervalNotifier(
                  base,
                  PAGES * PAGE,
                  (s, range, curSeq) -> {
                    m.checker()
                        .invalidateCallbackEntered(DEVICE, null, mm, range.start(), range.end());
                    update.lock();
                    try {
                      s.setSeq(curSeq);
                      mmu.unmapRange(range.start(), range.end());
                      mmu.flushTlb(range.start(), range.end());
                    } finally {
                      update.unlock();
                    }
                    m.checker()
                        .invalidateCallbackReturned(DEVICE, mm, range.start(), range.end(), curSeq);
                    return true;
                  },
                  update);
    }

    void run() throws ErrnoException {
      for (int round = 0; round < ROUNDS; round++) {
        populateAndDma(round);
      }
    }

    private void populateAndDma(int round) throws ErrnoException {
      for (int i = 0; i < PAGES; i++) {
        populate(base + i * PAGE);
      }
      for (int i = 0; i < PAGES; i++) {
        long va = base + i * PAGE;
        try {
          reads.add(new long[] {i, round, mmu.readLong(va)});
          mmu.writeLong(va, 200 + i);
        } catch (ErrnoException e) {
          assertThat(e.errno()).isEqualTo(Errno.EFAULT); // translation zapped, or read-only
        }
      }
    }

    /**
     * The fault side of the collision-retry pattern for one page; leaves it unmapped if the page is
     * gone.
     */
    private void populate(long va) throws ErrnoException {
      HmmRange range =
          new HmmRange(
              sub, 0, va, va + PAGE, new long[1], REQ_FAULT, 0, null, HmmPfnLayout.MAINLINE);
      while (true) {
        range.setNotifierSeq(sub.readBegin());
        range.hmmPfns()[0] = 0;
        process.mm().mmapLock().downRead();
        try {
          process.mm().hmmRangeFault(range);
        } catch (ErrnoException e) {
          if (e.errno() == Errno.EBUSY) {
            busyWalks++;
            continue;
          }
          assertThat(e.errno()).isEqualTo(Errno.EFAULT); // unmapped meanwhile
          return;
        } finally {
          process.mm().mmapLock().upRead();
        }
        rt.yieldPoint("mirror: after hmmRangeFault, before the update lock");
        update.lock();
        try {
          if (retryCheck && sub.readRetry(range.notifierSeq())) {
            lockedRetries++;
            continue;
          }
          long entry = range.hmmPfns()[0];
          mmu.map(va, range.layout().pfn(entry), (entry & WRITE) != 0);
          return;
        } finally {
          update.unlock();
        }
      }
    }

    void assertReadValues() {
      for (long[] r : reads) {
        assertThat(r[2])
            .as("device read of page %d in round %d", r[0], r[1])
            .isIn(100 + r[0], 200 + r[0]);
      }
    }

    void close() {
      sub.remove();
      mmu.tearDown();
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
}
