package io.mmulab.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;
import io.mmulab.testkit.tutorial.TutorialDriver;
import io.mmulab.testkit.tutorial.TutorialPlugin;
import java.util.List;
import org.junit.jupiter.api.Test;

class DriversTest {
  @Test
  void load_findsThePluginsOnTheClassPath() {
    Drivers drivers = Drivers.load();

    assertThat(drivers.names()).contains(TutorialDriver.NAME); // test-scope META-INF/services
    assertThat(drivers.get(TutorialDriver.NAME)).isInstanceOf(TutorialDriver.class);
    assertThat(drivers.asMap()).containsOnlyKeys(drivers.names());
  }

  @Test
  void get_unknownName_failsListingTheKnownDrivers() {
    Drivers drivers = Drivers.of(List.of(new TutorialPlugin()));

    assertThatThrownBy(() -> drivers.get("i9l5"))
        .isInstanceOf(UnknownDriverException.class)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("unknown driver 'i9l5'; known drivers: tutorial")
        .satisfies(
            e -> {
              UnknownDriverException u = (UnknownDriverException) e;
              assertThat(u.name()).isEqualTo("i9l5");
              assertThat(u.known()).containsExactly("tutorial");
            });
  }

  @Test
  void get_noPluginAtAll_saysSoAndHowToRegisterOne() {
    Drivers none = Drivers.of(List.of());

    assertThat(none.names()).isEmpty();
    assertThatThrownBy(() -> none.get("dmirror"))
        .hasMessageContaining("no driver is registered")
        .hasMessageContaining("META-INF/services/io.mmulab.api.driver.DriverPlugin");
  }

  @Test
  void of_twoPluginsWithOneName_isRejected() {
    DriverPlugin again = new TutorialPlugin();

    assertThatThrownBy(() -> Drivers.of(List.of(new TutorialPlugin(), again)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("tutorial");
  }

  @Test
  void ofModules_keyOtherThanTheFactoryName_isRejected() {
    Module misnamed =
        new AbstractModule() {
          @Override
          protected void configure() {
            MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
                .addBinding("other")
                .toInstance(new TutorialDriver());
          }
        };

    assertThatThrownBy(() -> Drivers.ofModules(List.of(misnamed)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("driver registered as 'other' calls itself 'tutorial'");
  }
}
