package io.mmulab.driver.vhost;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/** Plugs vhost in: adds {@link VhostFactory} to the driver map under {@code "vhost"}. */
public final class VhostPlugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(VhostFactory.NAME)
            .toInstance(new VhostFactory());
      }
    };
  }
}
