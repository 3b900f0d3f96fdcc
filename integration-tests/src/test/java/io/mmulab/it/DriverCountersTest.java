package io.mmulab.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverCounters;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Simulation;
import io.mmulab.testkit.Drivers;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every discovered driver's consolidated variant counts exactly what a script drives through one
 * adapter, under the deterministic runtime on one simulated thread: {@value #PAGES} prefetches of
 * distinct pages, then an {@code mprotect} of each, then one prefetch with an {@code mprotect} of
 * its page arranged between the driver's page lookup and its {@code readRetry} (at the driver's
 * named scheduling point), which the driver must see as one collision.
 */
class DriverCountersTest {
  private static final long PAGE = PhysicalMemory.PAGE_SIZE;
  private static final int PAGES = 3;

  /**
   * Per driver: where its fault path stands between the lookup and the retry check, and what the
   * three steps count. nouveau's collision reaches two subscriptions (the fault's own interval
   * notifier and the PTE-clearing classic one); i915 and radeon pin what they bind, i915 re-pins on
   * the retry and radeon's callback unpins what it evicts. vhost maps whole rings: the first
   * prefetch lays the used ring over pages 0–1 and the descriptor table and avail ring over pages 2
   * and 3, so the second prefetch finds the used ring mapped already. hfi1's prefetch for reading
   * caches SDMA nodes, which its (classic) handler unlinks and unpins at each mprotect. the retry
   * and radeon's callback unpins what it evicts. gntdev has no retry check: its lookup and map
   * hypercall run under the mmap lock held for write, so the operation runs before it (one
   * invalidation) and the mapping that follows is a plain fault. the retry and radeon's callback
   * unpins what it evicts; umem-odp holds no page after mapping. the retry and radeon's callback
   * unpins what it evicts. scif's callback only unlinks a window: its cleanup worker unpins it when
   * it runs, which seed 1's schedule lets it do once before the counts after the mprotects are read
   * and once more before the last ones (beside the collision's own unpin).
   */
  private static final Map<String, Expected> EXPECTED =
      Map.of(
          "dmirror",
          new Expected(
              "after page lookup, before the update lock",
              counts(PAGES, 0, 0, 0, 0),
              counts(0, 0, PAGES, 0, 0),
              counts(1, 1, 1, 0, 0)),
          "nouveau",
          new Expected(
              "fault window looked up, before svmm->mutex",
              counts(PAGES, 0, 0, 0, 0),
              counts(0, 0, PAGES, 0, 0),
              counts(1, 1, 2, 0, 0)),
          "i915",
          new Expected(
              "i915: pages pinned, before submit_done",
              counts(PAGES, 0, 0, PAGES, 0),
              counts(0, 0, PAGES, 0, 0),
              counts(1, 1, 1, 2, 1)),
          "radeon",
          new Expected(
              "pages pinned, before read_retry",
              counts(PAGES, 0, 0, PAGES, 0),
              counts(0, 0, PAGES, 0, PAGES),
              counts(1, 1, 1, 2, 1)),
          "vhost",
          new Expected(
              "ring pages faulted in, before mmu_lock",
              counts(PAGES - 1, 0, 0, 0, 0),
              counts(0, 0, PAGES, 0, 0),
              counts(1, 1, 1, 0, 0)),
          "hfi1",
          new Expected(
              "page pinned, before the insert check",
              counts(PAGES, 0, 0, PAGES, 0),
              counts(0, 0, PAGES, 0, PAGES),
              counts(1, 1, 1, 2, 1)),
          "gntdev",
          new Expected(
              "before the mmap lock",
              counts(PAGES, 0, 0, 0, 0),
              counts(0, 0, PAGES, 0, 0),
              counts(1, 0, 1, 0, 0)),
          "umem-odp",
          new Expected(
              "page got, before umem_mutex",
              counts(PAGES, 0, 0, 0, 0),
              counts(0, 0, PAGES, 0, 0),
              counts(1, 1, 1, 0, 0)),
          "scif",
          new Expected(
              "window pinned, before tc_lock and read_retry",
              counts(PAGES, 0, 0, PAGES, 0),
              counts(0, 0, PAGES, 0, 1),
              counts(1, 1, 1, 2, 2)));

  private record Expected(
      String collisionPoint,
      DriverCounters afterPrefetches,
      DriverCounters afterMprotects,
      DriverCounters afterCollision) {}

  private static DriverCounters counts(
      long faults, long retries, long invalidations, long pinned, long unpinned) {
    return new DriverCounters(faults, retries, invalidations, 0, pinned, unpinned);
  }

  @Test
  void everyDiscoveredDriver_hasItsExpectedCounts() {
    List<String> names = new ArrayList<>();
    Drivers.load().factories().forEach(f -> names.add(f.name()));

    assertThat(EXPECTED.keySet()).containsExactlyInAnyOrderElementsOf(names);
  }

  @TestFactory
  List<DynamicTest> consolidated_scriptedFaultsInvalidationsAndCollision_areCountedExactly() {
    List<DynamicTest> tests = new ArrayList<>();
    for (DriverFactory factory : Drivers.load().factories()) {
      Expected expected = EXPECTED.get(factory.name());
      if (expected != null) {
        tests.add(dynamicTest(factory.name(), () -> script(factory, expected)));
      }
    }
    return tests;
  }

  private static void script(DriverFactory factory, Expected expected) {
    List<DriverCounters> steps = new ArrayList<>();
    RunResult r =
        Simulation.run(
            SchedulerConfig.ofSeed(1),
            det -> {
              CollisionRuntime rt = new CollisionRuntime(det, expected.collisionPoint());
              SimMachine machine = new SimMachine(rt, 256);
              SimProcess p = machine.spawnProcess("app");
              try {
                long base =
                    p.mmap(
                        0,
                        (PAGES + 1) * PAGE,
                        Mman.PROT_READ | Mman.PROT_WRITE,
                        Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
                for (int i = 0; i <= PAGES; i++) {
                  p.store(base + i * PAGE, i);
                }
                try (DriverAdapter dev = factory.create(DriverVariant.CONSOLIDATED, p, machine)) {
                  DriverCounters start = dev.counters();
                  for (int i = 0; i < PAGES; i++) {
                    dev.prefetch(base + i * PAGE, PAGE, false);
                  }
                  DriverCounters prefetched = dev.counters();
                  for (int i = 0; i < PAGES; i++) {
                    p.mprotect(base + i * PAGE, PAGE, Mman.PROT_READ);
                  }
                  DriverCounters protectedAll = dev.counters();
                  long last = base + PAGES * PAGE;
                  rt.collideOnce(() -> p.mprotect(last, PAGE, Mman.PROT_READ));
                  dev.prefetch(last, PAGE, false);
                  assertThat(rt.collided()).as("the collision point was reached").isTrue();
                  DriverCounters collided = dev.counters();
                  steps.add(start);
                  steps.add(prefetched.minus(start));
                  steps.add(protectedAll.minus(prefetched));
                  steps.add(collided.minus(protectedAll));
                }
              } catch (ErrnoException e) {
                throw new AssertionError(e);
              }
            });

    assertThat(r.outcome()).as("%s", r).isEqualTo(Outcome.OK);
    assertThat(steps)
        .containsExactly(
            DriverCounters.ZERO,
            expected.afterPrefetches(),
            expected.afterMprotects(),
            expected.afterCollision());
  }

  /** A CPU operation run at the collision point. */
  private interface CpuOp {
    void run() throws ErrnoException;
  }

  /**
   * The deterministic runtime, plus one CPU operation run once where the driver's fault path
   * announces the scheduling point between its lookup and its retry check.
   */
  private static final class CollisionRuntime implements SyncRuntime {
    private final SyncRuntime delegate;
    private final String point;
    private CpuOp pending;
    private boolean collided;

    CollisionRuntime(SyncRuntime delegate, String point) {
      this.delegate = delegate;
      this.point = point;
    }

    void collideOnce(CpuOp op) {
      pending = op;
    }

    boolean collided() {
      return collided;
    }

    @Override
    public void yieldPoint(String label) {
      delegate.yieldPoint(label);
      if (pending != null && label.contains(point)) {
        CpuOp op = pending;
        pending = null;
        try {
          op.run();
        } catch (ErrnoException e) {
          throw new AssertionError(e);
        }
        collided = true;
      }
    }

    @Override
    public Mutex newMutex(String name) {
      return delegate.newMutex(name);
    }

    @Override
    public SpinLock newSpinLock(String name) {
      return delegate.newSpinLock(name);
    }

    @Override
    public RwSemaphore newRwSemaphore(String name) {
      return delegate.newRwSemaphore(name);
    }

    @Override
    public WaitQueue newWaitQueue(String name) {
      return delegate.newWaitQueue(name);
    }

    @Override
    public Completion newCompletion(String name) {
      return delegate.newCompletion(name);
    }

    @Override
    public Clock clock() {
      return delegate.clock();
    }

    @Override
    public ThreadHandle spawn(String name, Runnable body) {
      return delegate.spawn(name, body);
    }
  }
}
