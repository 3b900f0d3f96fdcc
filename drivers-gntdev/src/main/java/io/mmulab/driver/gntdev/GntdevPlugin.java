package io.mmulab.driver.gntdev;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/** Plugs gntdev in: adds {@link GntdevFactory} to the driver map under {@code "gntdev"}. */
public final class GntdevPlugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(GntdevFactory.NAME)
            .toInstance(new GntdevFactory());
      }
    };
  }
}
