package io.mmulab.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.mmulab.testkit.ConformanceOptions;
import io.mmulab.testkit.ConformanceReport;
import io.mmulab.testkit.ConformanceTests;
import io.mmulab.testkit.Drivers;
import io.mmulab.testkit.UnknownDriverException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every driver on the class path, found the way a user's application finds them ({@link
 * java.util.ServiceLoader} over {@code META-INF/services/io.mmulab.api.driver.DriverPlugin}, the
 * plugins' Guice modules assembled into one driver map), runs the whole conformance suite. A driver
 * module added as a dependency of this module joins the run with no other edit.
 *
 * <p>The discovered set must include every name of {@code expected-drivers.txt}: a superset, not an
 * exact match. The failure that matters is a driver silently missing (a services file lost in a
 * refactor, a dependency dropped): its conformance tests would then vanish without failing
 * anything. A driver discovered but not listed is harmless, runs, and is printed, so adding one
 * really needs no other edit; listing it afterwards protects it from disappearing.
 */
class AllDriversConformanceTest {
  private static final Drivers DRIVERS = Drivers.load();
  private static final ConformanceReport REPORT = new ConformanceReport();

  @Test
  void serviceLoader_discoversEveryExpectedDriver() {
    SortedSet<String> expected = expectedDrivers();
    SortedSet<String> found = DRIVERS.names();
    SortedSet<String> unlisted = new TreeSet<>(found);
    unlisted.removeAll(expected);
    System.out.println(
        "drivers discovered: " + found + (unlisted.isEmpty() ? "" : "; not listed: " + unlisted));

    assertThat(found)
        .as(
            "drivers found by ServiceLoader on the integration class path; expected-drivers.txt"
                + " lists %s. Is each driver module a dependency of integration-tests/pom.xml,"
                + " with its plugin in META-INF/services/io.mmulab.api.driver.DriverPlugin?",
            expected)
        .containsAll(expected);
  }

  @Test
  void unknownDriverName_failsListingTheDiscoveredOnes() {
    assertThatThrownBy(() -> DRIVERS.get("no-such-driver"))
        .isInstanceOf(UnknownDriverException.class)
        .hasMessageContaining("unknown driver 'no-such-driver'")
        .hasMessageContaining(String.join(", ", DRIVERS.names()));
  }

  @TestFactory
  Stream<DynamicNode> everyDiscoveredDriver_passesTheConformanceSuite() {
    if (DRIVERS.names().isEmpty()) {
      return Stream.of(
          dynamicTest(
              "no driver discovered",
              () ->
                  Assertions.fail(
                      "ServiceLoader found no DriverPlugin on the class path, so no driver ran the"
                          + " conformance suite; expected "
                          + expectedDrivers())));
    }
    ConformanceOptions options = ConformanceOptions.fromSystemProperties();
    return DRIVERS.factories().stream()
        .map(f -> dynamicContainer(f.name(), ConformanceTests.forDriver(f, options, REPORT)));
  }

  @AfterAll
  static void printReport() {
    System.out.print(REPORT.render());
  }

  private static SortedSet<String> expectedDrivers() {
    try (InputStream in =
        AllDriversConformanceTest.class.getResourceAsStream("/expected-drivers.txt")) {
      assertThat(in).as("expected-drivers.txt on the test class path").isNotNull();
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      Set<String> names =
          text.lines()
              .map(String::strip)
              .filter(l -> !l.isEmpty() && !l.startsWith("#"))
              .collect(Collectors.toSet());
      return new TreeSet<>(names);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
