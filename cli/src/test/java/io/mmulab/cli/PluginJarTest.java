package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.inject.Module;
import io.mmulab.api.driver.DriverPlugin;
import io.mmulab.sim.driver.SimDriverFactory;
import io.mmulab.testkit.dmirror.DmirrorFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A driver plugin built as a jar of its own, outside the CLI's class path: compiled here from
 * source, then listed and run by {@code drivers} and {@code run} when named with {@code --plugins}
 * or found in the plugin folder; and unusable jars, each reported in one line naming the jar.
 */
class PluginJarTest {
  private static final String DRIVER = "plugged-mirror";
  private static final String SERVICE = "META-INF/services/" + DriverPlugin.class.getName();

  @TempDir static Path dir;

  private static Path plugin;

  @BeforeAll
  static void buildPlugin() throws Exception {
    plugin = dir.resolve("plugged-mirror.jar");
    Path classes =
        compile(
            dir.resolve("classes"),
            Map.of("plugged/PluggedPlugin.java", source("plugged", "return List.of();")));
    jar(plugin, classes, "plugged.PluggedPlugin\n");
  }

  @Test
  void drivers_listsThePluginNamedWithPlugins() {
    Cli r = run(Map.of(), "--plugins", plugin.toString(), "drivers");

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains(DRIVER, "dmirror", "i915");
  }

  @Test
  void drivers_acceptsPluginsAfterTheCommand() {
    Cli r = run(Map.of(), "drivers", "--plugins", plugin.toString());

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains(DRIVER);
  }

  @Test
  void drivers_withoutPlugins_doesNotListIt() {
    Cli r = run(Map.of(), "drivers");

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).doesNotContain(DRIVER);
  }

  @Test
  void run_runsThePluginFromThePluginFolderBesideTheJar() throws IOException {
    Path home = Files.createDirectories(dir.resolve("home"));
    Files.createDirectories(home.resolve(Plugins.FOLDER));
    Files.copy(plugin, home.resolve(Plugins.FOLDER).resolve("plugged-mirror.jar"));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int code =
        Main.execute(
            new PrintWriter(out),
            new PrintWriter(err),
            false,
            Map.of(),
            home.resolve("mmulab.jar"),
            "run",
            "--drivers",
            DRIVER,
            "--seeds",
            "2",
            "--load-seconds",
            "0",
            "--report",
            dir.resolve("report").toString());

    assertThat(code).as(err.toString()).isZero();
    assertThat(out.toString()).contains(DRIVER, "consolidated");
  }

  @Test
  void run_runsThePluginNamedByTheEnvironment() {
    Cli r =
        run(
            Map.of(Plugins.ENV, plugin.toString()),
            "run",
            "--drivers",
            DRIVER,
            "--seeds",
            "2",
            "--load-seconds",
            "0",
            "--report",
            dir.resolve("report-env").toString());

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains(DRIVER);
  }

  @Test
  void drivers_notAJar_oneLineNamingIt() throws IOException {
    Path bad = Files.writeString(dir.resolve("not-a.jar"), "plain text");

    assertOneLine(run(Map.of(), "--plugins", bad.toString(), "drivers"), bad, "not a jar file");
  }

  @Test
  void drivers_jarWithoutPlugin_oneLineNamingIt() throws IOException {
    Path empty = dir.resolve("empty.jar");
    jar(empty, Files.createDirectories(dir.resolve("nothing")), null);

    assertOneLine(run(Map.of(), "--plugins", empty.toString(), "drivers"), empty, "no " + SERVICE);
  }

  @Test
  void drivers_pluginThatThrows_oneLineNamingIt() throws Exception {
    Path throwing = dir.resolve("throwing.jar");
    String src =
        "package throwing;\n"
            + "public final class ThrowingPlugin implements io.mmulab.api.driver.DriverPlugin {\n"
            + "  public com.google.inject.Module module() {\n"
            + "    throw new IllegalStateException(\"no device today\");\n"
            + "  }\n"
            + "}\n";
    Path classes = compile(dir.resolve("throwing"), Map.of("throwing/ThrowingPlugin.java", src));
    jar(throwing, classes, "throwing.ThrowingPlugin\n");

    assertOneLine(
        run(Map.of(), "--plugins", throwing.toString(), "drivers"), throwing, "no device today");
  }

  @Test
  void drivers_missingClassInServiceFile_oneLineNamingIt() throws IOException {
    Path dangling = dir.resolve("dangling.jar");
    jar(dangling, Files.createDirectories(dir.resolve("none")), "no.such.Plugin\n");

    assertOneLine(
        run(Map.of(), "--plugins", dangling.toString(), "drivers"), dangling, "no.such.Plugin");
  }

  @Test
  void drivers_duplicateDriverName_oneLineNamingTheJar() throws IOException {
    Path folder = Files.createDirectories(dir.resolve("twice"));
    Files.copy(plugin, folder.resolve("a.jar"));
    Files.copy(plugin, folder.resolve("b.jar"));

    assertOneLine(
        run(Map.of(), "--plugins", folder.toString(), "drivers"),
        folder.resolve("b.jar"),
        "driver '" + DRIVER + "' is already provided by plugin jar");
  }

  @Test
  void drivers_jarListingOnlyTheCliOwnPlugins_oneLineNamingIt() throws IOException {
    Path again = dir.resolve("again.jar");
    jar(again, Files.createDirectories(dir.resolve("again")), BrokenMirrorPlugin.class.getName());

    assertOneLine(
        run(Map.of(), "--plugins", again.toString(), "drivers"),
        again,
        "its plugins are the CLI's own (" + BrokenMirrorPlugin.class.getName() + ")");
  }

  @Test
  void drivers_missingPath_oneLineNamingIt() {
    Path missing = dir.resolve("missing.jar");

    assertOneLine(
        run(Map.of(), "--plugins", missing.toString(), "drivers"), missing, "no such jar");
  }

  @Test
  void drivers_pluginThrowingFromItsFactory_oneLineNamingTheThrowSite_wholeTraceOnRequest()
      throws Exception {
    Path classes =
        compile(
            dir.resolve("throwing-classes"),
            Map.of(
                "throwing/PluggedPlugin.java",
                source("throwing", "throw new IllegalStateException(\"races not loaded\");")));
    Path jar = dir.resolve("throwing.jar");
    jar(jar, classes, "throwing.PluggedPlugin\n");

    Cli r = run(Map.of(), "--plugins", jar.toString(), "drivers");

    assertThat(r.code()).isEqualTo(Main.EXIT_INTERNAL);
    assertThat(r.err().lines().toList())
        .singleElement()
        .asString()
        .startsWith("mmulab drivers failed: internal error: java.lang.IllegalStateException:")
        .contains("races not loaded", "at throwing.PluggedPlugin$Factory.declaredRaces(")
        .contains(Main.STACKTRACE_ENV + "=1")
        .doesNotContain("\tat ");

    Cli traced = run(Map.of(Main.STACKTRACE_ENV, "1"), "--plugins", jar.toString(), "drivers");

    assertThat(traced.code()).isEqualTo(Main.EXIT_INTERNAL);
    assertThat(traced.err()).contains("\tat throwing.PluggedPlugin$Factory.declaredRaces(");
  }

  private static void assertOneLine(Cli r, Path jar, String problem) {
    assertThat(r.code()).isEqualTo(Main.EXIT_USAGE);
    assertThat(r.out()).isEmpty();
    assertThat(r.err().lines().toList())
        .singleElement()
        .asString()
        .startsWith("mmulab: plugin jar ")
        .contains(jar.getFileName().toString(), problem)
        .doesNotContain("Exception", "\tat ");
  }

  private static Cli run(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new PrintWriter(out), new PrintWriter(err), false, env, null, args);
    return new Cli(code, out.toString(), err.toString());
  }

  /**
   * A plugin in package {@code pkg} whose only driver is dmirror under the name {@code pkg +
   * "-mirror"}, its {@code declaredRaces} made of {@code declaredRaces}.
   */
  private static String source(String pkg, String declaredRaces) {
    return """
        package %s;

        import com.google.inject.Module;
        import com.google.inject.multibindings.MapBinder;
        import io.mmulab.api.ErrnoException;
        import io.mmulab.api.driver.*;
        import io.mmulab.sim.driver.SimDriverFactory;
        import io.mmulab.testkit.dmirror.DmirrorFactory;
        import java.util.List;
        import java.util.Set;

        public final class PluggedPlugin implements DriverPlugin {
          public Module module() {
            return binder ->
                MapBinder.newMapBinder(binder, String.class, DriverFactory.class)
                    .addBinding("%s-mirror")
                    .toInstance(new Factory());
          }

          static final class Factory implements DriverFactory {
            private final DmirrorFactory dmirror = new DmirrorFactory();

            public String name() { return "%s-mirror"; }
            public DriverFamily family() { return DriverFamily.TEST; }
            public CoherencyModel model() { return CoherencyModel.SHADOW_PTE; }
            public Set<DriverVariant> variants() { return Set.of(DriverVariant.CONSOLIDATED); }
            public List<DeclaredRace> declaredRaces(DriverVariant v) { %s }
            public DriverAdapter create(DriverVariant v, UserProcess p, Machine m)
                throws ErrnoException {
              return dmirror.create(v, p, m);
            }
          }
        }
        """
        .formatted(pkg, pkg, pkg, declaredRaces);
  }

  private static Path compile(Path out, Map<String, String> sources) throws Exception {
    Path src = Files.createDirectories(out.resolveSibling(out.getFileName() + "-src"));
    List<String> args = new ArrayList<>(List.of("-d", out.toString(), "-cp", classPath()));
    for (Map.Entry<String, String> e : sources.entrySet()) {
      Path f = src.resolve(e.getKey());
      Files.createDirectories(f.getParent());
      Files.writeString(f, e.getValue());
      args.add(f.toString());
    }
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    StringWriter diagnostics = new StringWriter();
    int code =
        javac.run(
            null,
            OutputStream.nullOutputStream(),
            new WriterOutputStream(diagnostics),
            args.toArray(String[]::new));
    assertThat(code).as(diagnostics.toString()).isZero();
    return out;
  }

  /** The jars and folders the plugin compiles against: the api, sim, testkit and Guice. */
  private static String classPath() throws Exception {
    List<String> entries = new ArrayList<>();
    for (Class<?> c :
        List.of(DriverPlugin.class, SimDriverFactory.class, DmirrorFactory.class, Module.class)) {
      entries.add(
          Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
    }
    return String.join(java.io.File.pathSeparator, entries);
  }

  private static void jar(Path jar, Path classes, String service) throws IOException {
    try (JarOutputStream j = new JarOutputStream(Files.newOutputStream(jar));
        Stream<Path> files = Files.walk(classes)) {
      for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
        j.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
        Files.copy(f, j);
        j.closeEntry();
      }
      if (service != null) {
        j.putNextEntry(new JarEntry(SERVICE));
        j.write(service.getBytes(StandardCharsets.UTF_8));
        j.closeEntry();
      }
    }
  }

  /** javac writes its diagnostics to a stream; collect them as text for a failing assertion. */
  private static final class WriterOutputStream extends OutputStream {
    private final StringWriter target;

    WriterOutputStream(StringWriter target) {
      this.target = target;
    }

    @Override
    public void write(int b) {
      target.write(b);
    }
  }
}
