package io.mmulab.driver.i915;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.testkit.scenario.Buffer;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioContext;
import io.mmulab.testkit.scenario.ScenarioRunner;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The legacy walk's missing termination guarantee (the restart-from-first walk of MIGRATION.md),
 * deterministically: the classic callback puts one object's pages, drops its locks and restarts the
 * walk from the first object of the range, so an object that a concurrent execbuf makes active
 * again meanwhile is walked again. With a GPU that keeps touching the pages, one invalidation of a
 * 2-object range puts pages many more than 2 times — a walk bounded only by the GPU stopping. Not a
 * coherency violation (the checker has nothing to say), so not a declared race; the consolidated
 * core, which calls only the subscriptions present when the window opened, has no such loop.
 */
class I915RestartableWalkTest {
  private static final int PAGES = 2;
  private static final int GPU_THREADS = 4;

  /**
   * The first seed (sweeping from 1) at which one walk put pages at least three times per object: 7
   * times over 2 objects. (One object walked twice is common: 38 of seeds 1–200.)
   */
  private static final long PINNED_SEED = 85;

  @Test
  void legacy_oneInvalidationPutsPagesMoreTimesThanTheRangeHasObjects() {
    WalkCounting factory = new WalkCounting();
    ScenarioRunner legacy = new ScenarioRunner(factory, DriverVariant.LEGACY);

    legacy.run(new MigrateWhileGpuReads(), PINNED_SEED);
    int first = factory.longestWalk.get();
    legacy.run(new MigrateWhileGpuReads(), PINNED_SEED);

    System.out.printf(
        "i915 legacy, seed %d: the longest walk put pages %d times over %d objects%n",
        PINNED_SEED, first, PAGES);
    assertThat(first).isGreaterThanOrEqualTo(3 * PAGES);
    assertThat(factory.longestWalk.get()).as("same seed, same walk").isEqualTo(first);
  }

  /** CPU: migrate the buffer three times. GPU: four threads reading both pages meanwhile. */
  private static final class MigrateWhileGpuReads implements Scenario {
    @Override
    public String name() {
      return "migrate-while-gpu-reads";
    }

    @Override
    public String description() {
      return "objects made active again while a legacy walk runs";
    }

    @Override
    public void run(ScenarioContext ctx) throws ErrnoException {
      Buffer buf = ctx.mapBuffer(PAGES);
      DriverAdapter dev = ctx.adapter();
      ctx.warmUp(dev, buf, false);
      ThreadHandle cpu =
          ctx.cpu(
              "migrate",
              () -> {
                for (int i = 0; i < 3; i++) {
                  ctx.process().migrate(buf.start(), buf.start() + buf.length(), null);
                }
              });
      for (int t = 0; t < GPU_THREADS; t++) {
        ctx.spawn(
            "gpu-" + t,
            () ->
                ctx.repeatWhileRunning(
                    List.of(cpu),
                    () -> {
                      for (int p = 0; p < PAGES; p++) {
                        ctx.tryRead(dev, buf.va(p));
                      }
                    }));
      }
      ctx.joinAll();
    }
  }

  /**
   * i915 with the legacy userptr code over a hardware that counts, per invalidate callback, how
   * many times it put an object's pages; {@link #longestWalk} is the longest count of the last run.
   */
  private static final class WalkCounting implements DriverFactory {
    private final I915Factory i915 = new I915Factory();
    final AtomicInteger longestWalk = new AtomicInteger();

    @Override
    public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
        throws ErrnoException {
      longestWalk.set(0);
      I915Device dev = I915Device.open(SimMachine.of(machine), SimProcess.of(process));
      ThreadLocal<int[]> walk = new ThreadLocal<>();
      I915Hardware counting =
          (I915Hardware)
              Proxy.newProxyInstance(
                  I915Hardware.class.getClassLoader(),
                  new Class<?>[] {I915Hardware.class},
                  (proxy, method, args) -> {
                    switch (method.getName()) {
                      case "callbackEntered" -> walk.set(new int[1]);
                      case "releasePages" -> {
                        if (walk.get() != null) {
                          walk.get()[0]++;
                        }
                      }
                      case "callbackReturned" -> {
                        longestWalk.accumulateAndGet(walk.get()[0], Math::max);
                        walk.remove();
                      }
                      default -> {}
                    }
                    try {
                      return method.invoke(dev, args);
                    } catch (InvocationTargetException e) {
                      throw e.getCause();
                    }
                  });
      return new I915Adapter(new I915LegacyUserptr(dev.rt, dev.mm, counting));
    }

    @Override
    public String name() {
      return i915.name();
    }

    @Override
    public DriverFamily family() {
      return i915.family();
    }

    @Override
    public CoherencyModel model() {
      return i915.model();
    }

    @Override
    public Set<DriverVariant> variants() {
      return Set.of(DriverVariant.LEGACY);
    }

    @Override
    public List<DeclaredRace> declaredRaces(DriverVariant variant) {
      return i915.declaredRaces(variant);
    }
  }
}
