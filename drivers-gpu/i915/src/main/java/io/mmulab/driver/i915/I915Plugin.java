package io.mmulab.driver.i915;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/** Contributes {@link I915Factory} to the driver map under {@value I915Factory#NAME}. */
public final class I915Plugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(I915Factory.NAME)
            .toInstance(new I915Factory());
      }
    };
  }
}
