package io.mmulab.driver.scif;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/** Plugs SCIF in: adds {@link ScifFactory} to the driver map under {@code "scif"}. */
public final class ScifPlugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(ScifFactory.NAME)
            .toInstance(new ScifFactory());
      }
    };
  }
}
