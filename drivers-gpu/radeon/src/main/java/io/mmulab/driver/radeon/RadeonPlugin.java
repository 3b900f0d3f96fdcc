package io.mmulab.driver.radeon;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/** Plugs radeon in: adds {@link RadeonFactory} to the driver map under {@code "radeon"}. */
public final class RadeonPlugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(RadeonFactory.NAME)
            .toInstance(new RadeonFactory());
      }
    };
  }
}
