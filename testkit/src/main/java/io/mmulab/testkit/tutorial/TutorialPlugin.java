package io.mmulab.testkit.tutorial;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/**
 * Plugs the tutorial driver in: found by {@link java.util.ServiceLoader} (the testkit's tests list
 * it in their {@code META-INF/services}), it adds {@link TutorialDriver} to the driver map.
 */
public final class TutorialPlugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(TutorialDriver.NAME)
            .toInstance(new TutorialDriver());
      }
    };
  }
}
