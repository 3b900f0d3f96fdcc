package io.mmulab.api.driver;

import com.google.inject.Module;

/**
 * The entry point of a driver module, found with {@link java.util.ServiceLoader}. The returned
 * Guice module must add the driver's {@link DriverFactory} to {@code MapBinder.newMapBinder(binder,
 * String.class, DriverFactory.class)} under {@link DriverFactory#name()}, and bind nothing else
 * globally.
 *
 * <p>Guice is an optional dependency of the api module: only code that loads or writes plugins
 * needs it on the class path.
 */
public interface DriverPlugin {
  /**
   * Returns the module that contributes this driver's factory.
   *
   * @return a Guice module
   */
  Module module();
}
