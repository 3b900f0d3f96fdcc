package io.mmulab.cli;

import com.google.inject.Module;
import io.mmulab.api.driver.DriverPlugin;
import io.mmulab.testkit.Drivers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * Driver plugins outside the CLI's own jar, as Maven and Trino load theirs: each jar gets its own
 * {@link URLClassLoader} whose parent is the CLI's loader (so the api, sim and testkit classes are
 * the CLI's), and its {@code META-INF/services/io.mmulab.api.driver.DriverPlugin} is read through
 * {@link ServiceLoader}.
 */
final class Plugins {
  /** The environment variable naming a plugin jar or folder, used instead of the default folder. */
  static final String ENV = "MMULAB_PLUGINS";

  /** The default plugin folder, beside {@code mmulab.jar}. */
  static final String FOLDER = "plugins";

  private static final String SERVICE = "META-INF/services/" + DriverPlugin.class.getName();

  private Plugins() {}

  /**
   * Returns where plugins are looked for by default: {@code $MMULAB_PLUGINS} if set (a jar or a
   * folder; it must exist), else the {@code plugins} folder beside the jar the CLI runs from, if
   * there is one.
   *
   * @param env the environment
   * @param cliJar the jar the CLI runs from, or null when it runs from class folders
   * @return the paths, possibly none
   */
  static List<Path> defaults(Map<String, String> env, @Nullable Path cliJar) {
    String named = env.get(ENV);
    if (named != null && !named.isBlank()) {
      return List.of(Path.of(named));
    }
    if (cliJar != null && cliJar.getParent() != null) {
      Path folder = cliJar.getParent().resolve(FOLDER);
      if (Files.isDirectory(folder)) {
        return List.of(folder);
      }
    }
    return List.of();
  }

  /**
   * Returns the jar this class was loaded from, or null if it was loaded from a class folder.
   *
   * @return the jar
   */
  static @Nullable Path cliJar() {
    try {
      Path p = Path.of(Plugins.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return Files.isRegularFile(p) ? p : null;
    } catch (Exception e) {
      return null; // no code source (a custom launcher): there is no folder beside a jar
    }
  }

  /**
   * Loads the drivers on the CLI's class path and in every plugin jar of {@code paths}.
   *
   * @param cli the CLI's class loader, parent of every plugin loader
   * @param paths jars and folders of jars (each folder's {@code *.jar}, by name)
   * @return the drivers
   * @throws PluginException naming the jar, if a path is missing, a jar is not a jar or holds no
   *     plugin, a plugin fails to load, or a driver name is taken
   */
  static Drivers load(ClassLoader cli, List<Path> paths) {
    List<Module> modules = new ArrayList<>();
    ServiceLoader.load(DriverPlugin.class, cli).forEach(p -> modules.add(p.module()));
    Map<String, String> owners = new LinkedHashMap<>();
    for (String name : Drivers.ofModules(modules).names()) {
      owners.put(name, "the CLI");
    }
    for (Path jar : jars(paths)) {
      List<Module> own = modules(cli, jar);
      Drivers drivers;
      try {
        drivers = Drivers.ofModules(own);
      } catch (RuntimeException e) {
        throw new PluginException(jar, "its drivers do not assemble: " + firstLine(e));
      }
      for (String name : drivers.names()) {
        String owner = owners.putIfAbsent(name, "plugin jar " + jar);
        if (owner != null) {
          throw new PluginException(jar, "driver '" + name + "' is already provided by " + owner);
        }
      }
      modules.addAll(own);
    }
    return Drivers.ofModules(modules);
  }

  /** The plugin jars of the paths, each once, in the order given (a folder's by name). */
  private static Set<Path> jars(List<Path> paths) {
    Set<Path> out = new LinkedHashSet<>();
    for (Path p : paths) {
      if (Files.isDirectory(p)) {
        try (Stream<Path> s = Files.list(p)) {
          s.filter(f -> f.getFileName().toString().endsWith(".jar"))
              .sorted()
              .forEach(f -> out.add(real(f)));
        } catch (IOException e) {
          throw new PluginException(p, "cannot list the folder: " + e.getMessage());
        }
      } else if (Files.isRegularFile(p)) {
        out.add(real(p));
      } else {
        throw new PluginException(p, "no such jar or folder");
      }
    }
    return out;
  }

  private static Path real(Path p) {
    try {
      return p.toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The Guice modules of the plugins that one jar provides, loaded by a class loader of its own.
   */
  private static List<Module> modules(ClassLoader cli, Path jar) {
    Set<String> listed = new LinkedHashSet<>();
    try (JarFile j = new JarFile(jar.toFile())) {
      JarEntry service = j.getJarEntry(SERVICE);
      if (service == null) {
        throw new PluginException(jar, "no " + SERVICE + " in it");
      }
      new String(j.getInputStream(service).readAllBytes(), StandardCharsets.UTF_8)
          .lines()
          .map(l -> l.replaceFirst("#.*", "").strip())
          .filter(l -> !l.isEmpty())
          .forEach(listed::add);
    } catch (IOException e) {
      throw new PluginException(jar, "not a jar file (" + e.getMessage() + ")");
    }
    URLClassLoader loader;
    try {
      loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, cli);
    } catch (MalformedURLException e) {
      throw new PluginException(jar, "no URL for it: " + e.getMessage());
    }
    List<Module> out = new ArrayList<>();
    List<String> builtIn = new ArrayList<>();
    try {
      // The parent's services are visible through this loader too: keep only the jar's own.
      for (ServiceLoader.Provider<DriverPlugin> p :
          ServiceLoader.load(DriverPlugin.class, loader).stream().toList()) {
        if (p.type().getClassLoader() == loader) {
          Module m = p.get().module();
          if (m == null) {
            throw new PluginException(jar, p.type().getName() + " returned no module");
          }
          out.add(m);
        } else if (listed.contains(p.type().getName())) {
          builtIn.add(p.type().getName());
        }
      }
    } catch (ServiceConfigurationError | LinkageError e) {
      throw new PluginException(jar, firstLine(e));
    } catch (PluginException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new PluginException(jar, "its plugin failed to load: " + firstLine(e));
    }
    if (out.isEmpty()) {
      throw new PluginException(
          jar,
          builtIn.isEmpty()
              ? "it lists no driver plugin in " + SERVICE
              : "its plugins are the CLI's own (" + String.join(", ", builtIn) + ")");
    }
    return out;
  }

  private static String firstLine(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getName() : e.getMessage();
    if (e.getCause() != null && e.getCause() != e && e.getCause().getMessage() != null) {
      m = m + ": " + e.getCause().getMessage();
    }
    return m.strip().lines().findFirst().orElse(e.getClass().getName());
  }

  /** A plugin that cannot be used; the message names the jar or path. */
  static final class PluginException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PluginException(Path jar, String problem) {
      super("plugin jar " + jar + ": " + problem);
    }
  }
}
