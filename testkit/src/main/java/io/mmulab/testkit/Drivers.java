package io.mmulab.testkit;

import com.google.inject.AbstractModule;
import com.google.inject.CreationException;
import com.google.inject.Guice;
import com.google.inject.Key;
import com.google.inject.Module;
import com.google.inject.Stage;
import com.google.inject.TypeLiteral;
import com.google.inject.multibindings.MapBinder;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverPlugin;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;

/**
 * The drivers on the class path, by name: every {@link DriverPlugin} that {@link ServiceLoader}
 * finds contributes its factory to one Guice {@code MapBinder<String, DriverFactory>}, exactly as a
 * user's application would assemble them.
 *
 * <pre>{@code
 * Drivers drivers = Drivers.load();
 * DriverFactory f = drivers.get("dmirror"); // UnknownDriverException lists the known names
 * }</pre>
 *
 * <p>The injector requires explicit bindings, so a plugin that binds anything but its map entry
 * fails loudly; a name bound twice, or a factory whose {@link DriverFactory#name()} differs from
 * its key, is an {@link IllegalStateException}.
 */
public final class Drivers {
  private static final Key<Map<String, DriverFactory>> MAP_KEY =
      Key.get(new TypeLiteral<Map<String, DriverFactory>>() {});

  private final SortedMap<String, DriverFactory> byName;

  private Drivers(Map<String, DriverFactory> byName) {
    this.byName = Collections.unmodifiableSortedMap(new TreeMap<>(byName));
  }

  /**
   * Loads every plugin registered on the context class loader's class path.
   *
   * @return the drivers
   * @throws IllegalStateException if two plugins register one name, or a plugin's module is bad
   */
  public static Drivers load() {
    return load(Thread.currentThread().getContextClassLoader());
  }

  /**
   * Loads every plugin registered on a class loader's class path.
   *
   * @param loader where to look for {@code META-INF/services/io.mmulab.api.driver.DriverPlugin}
   * @return the drivers
   * @throws IllegalStateException as {@link #load()}
   */
  public static Drivers load(ClassLoader loader) {
    List<DriverPlugin> plugins = new ArrayList<>();
    ServiceLoader.load(DriverPlugin.class, loader).forEach(plugins::add);
    return of(plugins);
  }

  /**
   * Assembles the drivers of the given plugins.
   *
   * @param plugins the plugins
   * @return the drivers
   * @throws IllegalStateException as {@link #load()}
   */
  public static Drivers of(Iterable<? extends DriverPlugin> plugins) {
    List<Module> modules = new ArrayList<>();
    for (DriverPlugin p : plugins) {
      modules.add(Objects.requireNonNull(p.module(), () -> p + " returned no module"));
    }
    return ofModules(modules);
  }

  /**
   * Assembles the drivers of the given Guice modules (each adds to the driver map), for tests that
   * swap parts with {@code Modules.override}.
   *
   * @param modules the modules
   * @return the drivers
   * @throws IllegalStateException as {@link #load()}
   */
  public static Drivers ofModules(Iterable<? extends Module> modules) {
    Module root =
        new AbstractModule() {
          @Override
          protected void configure() {
            binder().requireExplicitBindings();
            MapBinder.newMapBinder(binder(), String.class, DriverFactory.class); // may stay empty
            modules.forEach(this::install);
          }
        };
    Map<String, DriverFactory> map;
    try {
      map = Guice.createInjector(Stage.PRODUCTION, root).getInstance(MAP_KEY);
    } catch (CreationException e) {
      throw new IllegalStateException("the driver plugins do not assemble: " + e.getMessage(), e);
    }
    map.forEach(
        (name, factory) -> {
          if (!name.equals(factory.name())) {
            throw new IllegalStateException(
                "driver registered as '" + name + "' calls itself '" + factory.name() + "'");
          }
        });
    return new Drivers(map);
  }

  /**
   * Returns the driver called {@code name}.
   *
   * @param name a driver name, such as {@code "dmirror"}
   * @return its factory
   * @throws UnknownDriverException if no plugin registered it; the message lists the known names
   */
  public DriverFactory get(String name) {
    DriverFactory f = byName.get(name);
    if (f == null) {
      throw new UnknownDriverException(name, byName.keySet());
    }
    return f;
  }

  /**
   * Returns the registered names.
   *
   * @return sorted, unmodifiable
   */
  public SortedSet<String> names() {
    return Collections.unmodifiableSortedSet(new java.util.TreeSet<>(byName.keySet()));
  }

  /**
   * Returns every factory by name.
   *
   * @return sorted by name, unmodifiable
   */
  public SortedMap<String, DriverFactory> asMap() {
    return byName;
  }

  /**
   * Returns the factories, ordered by name.
   *
   * @return unmodifiable
   */
  public List<DriverFactory> factories() {
    return List.copyOf(byName.values());
  }

  @Override
  public String toString() {
    return "Drivers" + byName.keySet();
  }
}
