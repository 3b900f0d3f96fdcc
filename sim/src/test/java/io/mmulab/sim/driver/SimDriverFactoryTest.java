package io.mmulab.sim.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SimDriverFactoryTest {
  private static final DeclaredRace RACE =
      new DeclaredRace("r", "munmap-vs-fault", Set.of(ViolationKind.STALE_USE), "a race");

  private static final class Fake extends SimDriverFactory {
    Fake(Map<DriverVariant, List<DeclaredRace>> races) {
      super("fake", DriverFamily.TEST, CoherencyModel.SHADOW_PTE, races);
    }

    @Override
    protected DriverAdapter open(DriverVariant variant, SimProcess process, SimMachine machine) {
      throw new AssertionError("not reached for an unknown variant");
    }
  }

  private final Fake fake =
      new Fake(Map.of(DriverVariant.LEGACY, List.of(RACE), DriverVariant.CONSOLIDATED, List.of()));

  @Test
  void description_isWhatTheConstructorWasGiven() {
    assertThat(fake.name()).isEqualTo("fake").isEqualTo(fake.toString());
    assertThat(fake.family()).isEqualTo(DriverFamily.TEST);
    assertThat(fake.model()).isEqualTo(CoherencyModel.SHADOW_PTE);
    assertThat(fake.variants())
        .containsExactlyInAnyOrder(DriverVariant.LEGACY, DriverVariant.CONSOLIDATED);
    assertThat(fake.declaredRaces(DriverVariant.LEGACY)).containsExactly(RACE);
    assertThat(fake.declaredRaces(DriverVariant.CONSOLIDATED)).isEmpty();
  }

  @Test
  void declaredRacesAndCreate_variantItDoesNotHave_areRejectedNamingTheOnesItHas() {
    assertThatThrownBy(() -> fake.declaredRaces(DriverVariant.AS_MERGED))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("fake has no AS_MERGED variant; it has [LEGACY, CONSOLIDATED]");
    assertThatThrownBy(() -> fake.create(DriverVariant.AS_MERGED, null, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fake has no AS_MERGED variant");
  }

  @Test
  void constructor_consolidatedMissingOrWithRaces_isRejected() {
    assertThatThrownBy(() -> new Fake(Map.of(DriverVariant.LEGACY, List.of())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("consolidated variant must exist");
    assertThatThrownBy(() -> new Fake(Map.of(DriverVariant.CONSOLIDATED, List.of(RACE))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("declare no race");
  }
}
