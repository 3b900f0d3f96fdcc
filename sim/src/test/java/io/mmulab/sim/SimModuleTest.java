package io.mmulab.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.Guice;
import com.google.inject.Injector;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.sched.DeterministicRuntime;
import org.junit.jupiter.api.Test;

class SimModuleTest {
  @Test
  void realConfig_bindsOneMachineOnTheRealRuntime() {
    Injector injector = Guice.createInjector(new SimModule(SimConfig.real().withFrameBudget(8)));
    SimMachine machine = injector.getInstance(SimMachine.class);
    assertThat(injector.getInstance(SimMachine.class)).isSameAs(machine);
    assertThat(machine.runtime()).isSameAs(RealSyncRuntime.get());
    assertThat(machine.memory()).isSameAs(injector.getInstance(PhysicalMemory.class));
    assertThat(machine.checker()).isSameAs(injector.getInstance(CoherencyChecker.class));
  }

  @Test
  void deterministicConfig_bindsTheSeededRuntime() {
    Injector injector = Guice.createInjector(new SimModule(SimConfig.deterministic(42)));
    SyncRuntime runtime = injector.getInstance(SyncRuntime.class);
    assertThat(runtime).isInstanceOf(DeterministicRuntime.class);
    assertThat(((DeterministicRuntime) runtime).config().seed()).isEqualTo(42);
    assertThat(injector.getInstance(SimMachine.class).runtime()).isSameAs(runtime);
  }

  @Test
  void config_rejectsNonPositiveSizesNamingThem() {
    assertThatThrownBy(() -> SimConfig.real().withFrameBudget(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("frameBudget")
        .hasMessageContaining("0");
  }
}
