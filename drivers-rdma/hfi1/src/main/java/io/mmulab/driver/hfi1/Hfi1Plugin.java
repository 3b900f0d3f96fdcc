package io.mmulab.driver.hfi1;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/** Plugs hfi1 in: found by {@link java.util.ServiceLoader}, adds {@link Hfi1Factory}. */
public final class Hfi1Plugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(Hfi1Factory.NAME)
            .toInstance(new Hfi1Factory());
      }
    };
  }
}
