package io.mmulab.buildchecks;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles planted sources with the compiler configuration every module is built with (the root
 * pom's {@code -Xplugin:ErrorProne} argument, passed in by Surefire) and checks that it rejects a
 * null dereference and an Error Prone error, and accepts the same code without them.
 */
class CompilerChecksTest {
  private static final String PACKAGE_INFO =
      """
      @NullMarked
      package planted;

      import org.jspecify.annotations.NullMarked;
      """;

  @TempDir Path dir;

  @Test
  void cleanCode_compiles() throws IOException {
    Result r =
        compile(
            """
            package planted;

            import org.jspecify.annotations.Nullable;

            public final class Planted {
              static int length(@Nullable String s) {
                return s == null ? 0 : s.length();
              }

              @Override
              public String toString() {
                return "planted";
              }
            }
            """);

    assertThat(r.errors()).isEmpty();
    assertThat(r.success()).isTrue();
  }

  @Test
  void plantedNullDereference_failsTheBuild() throws IOException {
    Result r =
        compile(
            """
            package planted;

            import org.jspecify.annotations.Nullable;

            public final class Planted {
              static int length(@Nullable String s) {
                return s.length();
              }
            }
            """);

    assertThat(r.success()).isFalse();
    assertThat(r.errors())
        .anySatisfy(
            e ->
                assertThat(e)
                    .contains("[NullAway]")
                    .contains("dereferenced expression 's' is @Nullable"));
  }

  @Test
  void plantedNullReturn_failsTheBuild() throws IOException {
    Result r =
        compile(
            """
            package planted;

            public final class Planted {
              static String name(boolean known) {
                return known ? "x" : null;
              }
            }
            """);

    assertThat(r.success()).isFalse();
    assertThat(r.errors()).anySatisfy(e -> assertThat(e).contains("[NullAway]"));
  }

  @Test
  void plantedErrorProneError_failsTheBuild() throws IOException {
    Result r =
        compile(
            """
            package planted;

            public final class Planted {
              static void check(int x) {
                if (x < 0) {
                  new IllegalArgumentException("negative: " + x);
                }
              }
            }
            """);

    assertThat(r.success()).isFalse();
    assertThat(r.errors()).anySatisfy(e -> assertThat(e).contains("[DeadException]"));
  }

  @Test
  void promotedWarning_failsTheBuild() throws IOException {
    Result r =
        compile(
            """
            package planted;

            public final class Planted {
              public String toString() {
                return "planted";
              }
            }
            """);

    assertThat(r.success()).isFalse();
    assertThat(r.errors()).anySatisfy(e -> assertThat(e).contains("[MissingOverride]"));
  }

  @Test
  void plantedNullDereference_inAProjectPackageWithoutNullMarked_failsTheBuild()
      throws IOException {
    Result r =
        compile(
            "io/mmulab/planted",
            false,
            """
            package io.mmulab.planted;

            public final class Planted {
              static int length() {
                String s = null;
                return s.length();
              }
            }
            """);

    assertThat(r.success()).isFalse();
    assertThat(r.errors()).anySatisfy(e -> assertThat(e).contains("[NullAway]"));
  }

  private record Result(boolean success, List<String> errors) {}

  private Result compile(String source) throws IOException {
    return compile("planted", true, source);
  }

  /**
   * Compiles {@code source} in folder {@code packageDir}, with a {@code @NullMarked} package-info
   * or none.
   */
  private Result compile(String packageDir, boolean nullMarked, String source) throws IOException {
    Path src = Files.createDirectories(dir.resolve("src").resolve(packageDir));
    Path out = Files.createDirectories(dir.resolve("classes"));
    Path planted = Files.writeString(src.resolve("Planted.java"), source);
    List<File> sources = new ArrayList<>(List.of(planted.toFile()));
    if (nullMarked) {
      sources.add(Files.writeString(src.resolve("package-info.java"), PACKAGE_INFO).toFile());
    }
    String plugin = System.getProperty("mmulab.errorprone.plugin");
    assertThat(plugin).as("the build's -Xplugin argument").startsWith("-Xplugin:ErrorProne");
    // Surefire puts the real test class path (with Error Prone, NullAway, JSpecify) here.
    String classPath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));

    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    try (StandardJavaFileManager files =
        javac.getStandardFileManager(diagnostics, Locale.ROOT, UTF_8)) {
      List<String> options = new ArrayList<>();
      options.addAll(List.of("--release", System.getProperty("mmulab.release", "17")));
      options.addAll(List.of("-d", out.toString(), "-classpath", classPath));
      options.addAll(List.of("-processorpath", classPath));
      options.addAll(List.of("-XDcompilePolicy=simple", "--should-stop=ifError=FLOW", plugin));
      boolean success =
          javac
              .getTask(
                  null,
                  files,
                  diagnostics,
                  options,
                  null,
                  files.getJavaFileObjectsFromFiles(sources))
              .call();
      List<String> errors =
          diagnostics.getDiagnostics().stream()
              .filter(d -> d.getKind() == Diagnostic.Kind.ERROR)
              .map(d -> d.getMessage(Locale.ROOT))
              .collect(Collectors.toList());
      return new Result(success, errors);
    }
  }
}
