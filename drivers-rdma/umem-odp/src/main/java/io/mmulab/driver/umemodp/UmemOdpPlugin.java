package io.mmulab.driver.umemodp;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/** Plugs RDMA ODP in: adds {@link UmemOdpFactory} to the driver map under {@code "umem-odp"}. */
public final class UmemOdpPlugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(UmemOdpFactory.NAME)
            .toInstance(new UmemOdpFactory());
      }
    };
  }
}
