package io.mmulab.testkit;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * The Maven command that reruns one conformance test class of one module: {@code mvn -B test -pl
 * <module> -am -Dsurefire.failIfNoSpecifiedTests=false -Dtest=<TestClass> <properties>}. The module
 * is the working directory relative to the outermost directory above it holding a {@code pom.xml}
 * (Surefire runs a module's tests in the module's directory); {@code -am} builds the modules it
 * depends on, whose tests the {@code -Dtest} filter then skips.
 *
 * @param testClass the simple name of the test class, or {@code <the conformance test>} when it is
 *     not known
 * @param module the module's directory relative to the root pom, empty when run from the root
 */
public record ReplayCommand(String testClass, String module) {
  /** What {@link #testClass} says when the test class is not known. */
  public static final String UNKNOWN_TEST = "<the conformance test>";

  /** Validates. */
  public ReplayCommand {
    Objects.requireNonNull(testClass, "testClass is null");
    Objects.requireNonNull(module, "module is null");
  }

  /**
   * Returns the command of {@code testClass} in the module the JVM runs in.
   *
   * @param testClass the JUnit test class
   * @return the command
   */
  public static ReplayCommand of(Class<?> testClass) {
    return new ReplayCommand(testClass.getSimpleName(), moduleOf(workingDirectory()));
  }

  /**
   * Returns the command of the JUnit test class found on the calling thread's stack (the innermost
   * class with a JUnit Jupiter annotated method), in the module the JVM runs in.
   *
   * @return the command; its test class is {@link #UNKNOWN_TEST} if no frame is a test's
   */
  public static ReplayCommand here() {
    Optional<Class<?>> test =
        StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE)
            .walk(
                frames ->
                    frames
                        .<Class<?>>map(StackWalker.StackFrame::getDeclaringClass)
                        .filter(ReplayCommand::isJUnitTest)
                        .findFirst());
    return test.map(ReplayCommand::of)
        .orElseGet(() -> new ReplayCommand(UNKNOWN_TEST, moduleOf(workingDirectory())));
  }

  /**
   * Returns the command line with {@code properties} appended.
   *
   * @param properties the {@code -Dmmulab.*} properties that select what to rerun
   * @return {@code mvn -B test [-pl <module> -am] -Dsurefire.failIfNoSpecifiedTests=false
   *     -Dtest=<TestClass> <properties>}
   */
  public String line(String properties) {
    return "mvn -B test "
        + (module.isEmpty() ? "" : "-pl " + module + " -am ")
        + "-Dsurefire.failIfNoSpecifiedTests=false -Dtest="
        + testClass
        + " "
        + properties;
  }

  /**
   * Returns the module of {@code dir}: its path relative to the outermost directory at or above it
   * holding a {@code pom.xml} (the root pom), with {@code /} separators.
   *
   * @param dir a directory
   * @return the module path, empty if {@code dir} is the root or holds no {@code pom.xml}
   */
  static String moduleOf(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    Path root = null;
    for (Path p = abs; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("pom.xml"))) {
        root = p; // folders between, such as drivers-gpu, need not have one
      }
    }
    return root == null ? "" : root.relativize(abs).toString().replace('\\', '/');
  }

  private static Path workingDirectory() {
    return Path.of(System.getProperty("user.dir"));
  }

  private static boolean isJUnitTest(Class<?> c) {
    if (java.lang.reflect.Modifier.isAbstract(c.getModifiers())) {
      return false; // a suite such as DriverConformanceSuite, not the test class
    }
    for (Method m : c.getDeclaredMethods()) {
      if (Arrays.stream(m.getDeclaredAnnotations())
          .map(Annotation::annotationType)
          .anyMatch(a -> a.getName().startsWith("org.junit.jupiter.api."))) {
        return true;
      }
    }
    return false;
  }
}
