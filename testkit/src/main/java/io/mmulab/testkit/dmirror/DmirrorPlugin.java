package io.mmulab.testkit.dmirror;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;

/** Contributes {@link DmirrorFactory} to the driver map under {@code "dmirror"}. */
public final class DmirrorPlugin implements DriverPlugin {
  @Override
  public Module module() {
    return new AbstractModule() {
      @Override
      protected void configure() {
        MapBinder.newMapBinder(binder(), String.class, DriverFactory.class)
            .addBinding(DmirrorFactory.NAME)
            .toInstance(new DmirrorFactory());
      }
    };
  }
}
