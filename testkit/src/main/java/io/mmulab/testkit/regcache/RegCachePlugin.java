package io.mmulab.testkit.regcache;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/**
 * Plugs the registration cache in: found by {@link java.util.ServiceLoader} (the testkit's tests
 * list it in their {@code META-INF/services}), it adds {@link RegCacheDriver} to the driver map.
 */
public final class RegCachePlugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(RegCacheDriver.NAME)
            .toInstance(new RegCacheDriver());
      }
    };
  }
}
