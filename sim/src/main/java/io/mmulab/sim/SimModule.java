package io.mmulab.sim;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Singleton;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.sched.DeterministicRuntime;
import java.util.Objects;

/**
 * Binds one simulated machine (its runtime, checker, physical memory and the machine itself) from
 * one {@link SimConfig}. One injector is one machine; a deterministic runtime runs one program, so
 * build a fresh injector per run. Requires explicit bindings, so everything a machine consists of
 * is listed here.
 */
public final class SimModule extends AbstractModule {
  private final SimConfig config;

  /**
   * Creates the module.
   *
   * @param config what the machine is built from
   */
  public SimModule(SimConfig config) {
    this.config = Objects.requireNonNull(config, "config is null");
  }

  @Override
  protected void configure() {
    binder().requireExplicitBindings();
    bind(SimConfig.class).toInstance(config);
  }

  @Provides
  @Singleton
  SyncRuntime runtime(SimConfig c) {
    return switch (c.runtime()) {
      case REAL -> RealSyncRuntime.get();
      case DETERMINISTIC -> new DeterministicRuntime(c.scheduler());
    };
  }

  @Provides
  @Singleton
  CoherencyChecker checker(SimConfig c) {
    return new CoherencyChecker(c.checkerTraceLength(), c.checkerMaxViolations());
  }

  @Provides
  @Singleton
  PhysicalMemory memory(SyncRuntime runtime, SimConfig c, CoherencyChecker checker) {
    return new PhysicalMemory(runtime, c.frameBudget(), checker);
  }

  @Provides
  @Singleton
  SimMachine machine(SyncRuntime runtime, PhysicalMemory memory) {
    return new SimMachine(runtime, memory);
  }
}
