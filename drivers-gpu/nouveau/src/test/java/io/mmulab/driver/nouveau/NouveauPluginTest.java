package io.mmulab.driver.nouveau;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.Guice;
import com.google.inject.Key;
import com.google.inject.TypeLiteral;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;
import io.mmulab.api.driver.DriverVariant;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** The plugin registration and the factory's description. */
class NouveauPluginTest {
  @Test
  void serviceLoader_findsThePlugin_whoseModuleBindsNouveau() {
    DriverPlugin plugin =
        ServiceLoader.load(DriverPlugin.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(p -> p instanceof NouveauPlugin)
            .findFirst()
            .orElseThrow();
    Map<String, DriverFactory> drivers =
        Guice.createInjector(plugin.module())
            .getInstance(Key.get(new TypeLiteral<Map<String, DriverFactory>>() {}));
    assertThat(drivers).containsOnlyKeys(NouveauFactory.NAME);
    assertThat(drivers.get(NouveauFactory.NAME)).isInstanceOf(NouveauFactory.class);
  }

  @Test
  void declaredRaces_legacyHasTheValidFlagReset_consolidatedNone_asMergedRejected() {
    NouveauFactory f = new NouveauFactory();
    assertThat(f.variants())
        .containsExactlyInAnyOrder(DriverVariant.LEGACY, DriverVariant.CONSOLIDATED);
    assertThat(f.declaredRaces(DriverVariant.LEGACY))
        .containsExactly(NouveauFactory.VALID_FLAG_RESET);
    assertThat(NouveauFactory.VALID_FLAG_RESET.scenarios())
        .containsExactly(
            NouveauFactory.RACE_SCENARIO,
            NouveauFactory.COW_RACE_SCENARIO,
            "migrate-during-dma",
            "munmap-zap-vs-fault",
            "remap-while-cached");
    assertThat(f.declaredRaces(DriverVariant.CONSOLIDATED)).isEmpty();
    assertThatThrownBy(() -> f.declaredRaces(DriverVariant.AS_MERGED))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
