package io.mmulab.driver.umemodp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.Guice;
import com.google.inject.Key;
import com.google.inject.TypeLiteral;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverPlugin;
import io.mmulab.api.driver.DriverVariant;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** The plugin registration and the factory's description. */
class UmemOdpPluginTest {
  @Test
  void serviceLoader_findsThePlugin_whoseModuleBindsUmemOdp() {
    DriverPlugin plugin =
        ServiceLoader.load(DriverPlugin.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(p -> p instanceof UmemOdpPlugin)
            .findFirst()
            .orElseThrow();
    Map<String, DriverFactory> drivers =
        Guice.createInjector(plugin.module())
            .getInstance(Key.get(new TypeLiteral<Map<String, DriverFactory>>() {}));
    assertThat(drivers).containsOnlyKeys(UmemOdpFactory.NAME);
    assertThat(drivers.get(UmemOdpFactory.NAME)).isInstanceOf(UmemOdpFactory.class);
  }

  @Test
  void declaredRaces_legacyHasTheNestedDeadlock_consolidatedNone_asMergedRejected() {
    UmemOdpFactory f = new UmemOdpFactory();
    assertThat(f.family()).isEqualTo(DriverFamily.RDMA);
    assertThat(f.model()).isEqualTo(CoherencyModel.SHADOW_PTE);
    assertThat(f.variants())
        .containsExactlyInAnyOrder(DriverVariant.LEGACY, DriverVariant.CONSOLIDATED);
    assertThat(f.declaredRaces(DriverVariant.LEGACY))
        .containsExactly(UmemOdpFactory.NESTED_INVALIDATION_DEADLOCK);
    assertThat(UmemOdpFactory.NESTED_INVALIDATION_DEADLOCK.scenarios())
        .containsExactly(UmemOdpFactory.DEADLOCK_SCENARIO);
    assertThat(f.declaredRaces(DriverVariant.CONSOLIDATED)).isEmpty();
    assertThatThrownBy(() -> f.declaredRaces(DriverVariant.AS_MERGED))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
