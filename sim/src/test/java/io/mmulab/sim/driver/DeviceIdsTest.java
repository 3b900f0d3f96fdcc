package io.mmulab.sim.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.driver.Machine;
import org.junit.jupiter.api.Test;

class DeviceIdsTest {
  @Test
  void next_countsFromZeroOnEachMachine() {
    Machine first = () -> null;
    Machine second = () -> null;

    assertThat(DeviceIds.next(first, "gpu")).isEqualTo("gpu0");
    assertThat(DeviceIds.next(first, "gpu")).isEqualTo("gpu1");
    assertThat(DeviceIds.next(second, "gpu")).isEqualTo("gpu0");
  }

  @Test
  void next_sharesOneCounterPerMachineAcrossPrefixes() {
    Machine machine = () -> null;

    assertThat(DeviceIds.next(machine, "a")).isEqualTo("a0");
    assertThat(DeviceIds.next(machine, "b")).isEqualTo("b1");
  }

  @Test
  void next_withEmptyPrefix_throwsNamingIt() {
    assertThatThrownBy(() -> DeviceIds.next(() -> null, ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("empty device name prefix");
  }
}
