package io.mmulab.driver.nouveau;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/** Contributes {@link NouveauFactory} to the driver map under {@value NouveauFactory#NAME}. */
public final class NouveauPlugin implements DriverPlugin {
  /** For {@link java.util.ServiceLoader}. */
  public NouveauPlugin() {}

  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(NouveauFactory.NAME)
            .toInstance(new NouveauFactory());
      }
    };
  }
}
