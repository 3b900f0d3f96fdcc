package io.mmulab.cli;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.Drivers;
import io.mmulab.testkit.UnknownDriverException;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.Scenarios;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * The drivers found on the class path and in plugin jars, and the scenario library, looked up by
 * the names users type; an unknown name is a {@link ParameterException} naming the known values.
 */
final class Catalog {
  /** The plugin paths of the command line this thread executes. */
  private static final ThreadLocal<List<Path>> PLUGINS = ThreadLocal.withInitial(List::of);

  private final Drivers drivers;

  private Catalog(Drivers drivers) {
    this.drivers = drivers;
  }

  /**
   * Loads every driver plugin on the class path of this class and in the plugin jars of the command
   * line being executed ({@link #withPlugins}).
   *
   * @return the catalog
   * @throws Plugins.PluginException naming the jar, if a plugin jar cannot be used
   */
  static Catalog load() {
    return new Catalog(Plugins.load(Catalog.class.getClassLoader(), PLUGINS.get()));
  }

  /**
   * Runs {@code body} with {@link #load} also looking in {@code paths}; a command line sets them
   * for the thread that executes it.
   *
   * @param paths plugin jars and folders
   * @param body what to run
   * @return what {@code body} returned
   * @param <T> its type
   */
  static <T> T withPlugins(List<Path> paths, Supplier<T> body) {
    List<Path> before = PLUGINS.get();
    PLUGINS.set(List.copyOf(paths));
    try {
      return body.get();
    } finally {
      PLUGINS.set(before);
    }
  }

  /**
   * Returns every driver, ordered by name.
   *
   * @return the factories
   */
  List<DriverFactory> drivers() {
    return drivers.factories();
  }

  /**
   * Returns the driver called {@code name}.
   *
   * @param cmd the command, for the error
   * @param name the name
   * @return the factory
   * @throws ParameterException naming the known drivers
   */
  DriverFactory driver(CommandLine cmd, String name) {
    try {
      return drivers.get(name);
    } catch (UnknownDriverException e) {
      throw new ParameterException(cmd, e.getMessage());
    }
  }

  /**
   * Returns the drivers called {@code names}, or every driver if {@code names} is empty.
   *
   * @param cmd the command, for the error
   * @param names the names
   * @return the factories, in the order given
   * @throws ParameterException naming the known drivers
   */
  List<DriverFactory> drivers(CommandLine cmd, List<String> names) {
    if (names.isEmpty()) {
      return drivers();
    }
    List<DriverFactory> out = new ArrayList<>();
    for (String n : names) {
      out.add(driver(cmd, n));
    }
    return out;
  }

  /**
   * Returns the variants of a driver in declaration order.
   *
   * @param driver the driver
   * @return its variants
   */
  static List<DriverVariant> variants(DriverFactory driver) {
    return driver.variants().stream().sorted().toList();
  }

  /**
   * Returns the variant of {@code driver} called {@code name} ({@code legacy}, {@code
   * consolidated}, {@code as-merged}; case and {@code -}/{@code _} do not matter).
   *
   * @param cmd the command, for the error
   * @param driver the driver
   * @param name the name
   * @return the variant
   * @throws ParameterException naming the driver's variants
   */
  static DriverVariant variant(CommandLine cmd, DriverFactory driver, String name) {
    for (DriverVariant v : variants(driver)) {
      if (v.name().equals(name.strip().toUpperCase(Locale.ROOT).replace('-', '_'))) {
        return v;
      }
    }
    throw new ParameterException(
        cmd,
        "unknown variant '"
            + name
            + "' of driver "
            + driver.name()
            + "; its variants: "
            + variants(driver).stream().map(Catalog::name).collect(Collectors.joining(", ")));
  }

  /**
   * Returns the scenario called {@code name}.
   *
   * @param cmd the command, for the error
   * @param name the name
   * @return the scenario
   * @throws ParameterException naming the known scenarios
   */
  static Scenario scenario(CommandLine cmd, String name) {
    try {
      return Scenarios.byName(name);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(cmd, e.getMessage());
    }
  }

  /**
   * Returns the scenarios called {@code names}, or every scenario if {@code names} is empty.
   *
   * @param cmd the command, for the error
   * @param names the names
   * @return the scenarios, in the order given
   * @throws ParameterException naming the known scenarios
   */
  static List<Scenario> scenarios(CommandLine cmd, List<String> names) {
    if (names.isEmpty()) {
      return Scenarios.all();
    }
    List<Scenario> out = new ArrayList<>();
    for (String n : names) {
      out.add(scenario(cmd, n));
    }
    return out;
  }

  /**
   * Returns the name users type for a variant.
   *
   * @param v the variant
   * @return {@code legacy}, {@code consolidated} or {@code as-merged}
   */
  static String name(DriverVariant v) {
    return v.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
