package io.mmulab.testkit.tutorial.fence;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/** Adds {@link FenceDriver} to the driver map (listed only in the testkit's test services). */
public final class FencePlugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(FenceDriver.NAME)
            .toInstance(new FenceDriver());
      }
    };
  }
}
