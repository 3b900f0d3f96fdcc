package io.mmulab.cli;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRunner;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The {@code --driver}, {@code --variant} and {@code --scenario} options that name one scenario of
 * one driver variant ({@code explore} and {@code replay}).
 */
final class Target {
  @Option(names = "--driver", required = true, paramLabel = "D", description = "The driver.")
  String driver;

  @Option(
      names = "--variant",
      required = true,
      paramLabel = "V",
      description = "The variant: legacy, consolidated or as-merged.")
  String variant;

  @Option(names = "--scenario", required = true, paramLabel = "S", description = "The scenario.")
  String scenario;

  /**
   * What the options name, resolved.
   *
   * @param factory the driver
   * @param variant the variant
   * @param scenario the scenario
   */
  record Resolved(DriverFactory factory, DriverVariant variant, Scenario scenario) {
    /** Returns a runner of the driver variant. */
    ScenarioRunner runner() {
      return new ScenarioRunner(factory, variant);
    }

    /** Returns {@code driver/variant scenario}. */
    String label() {
      return factory.name() + "/" + Catalog.name(variant) + " " + scenario.name();
    }
  }

  /**
   * Resolves the names.
   *
   * @param cmd the command, for errors
   * @return the driver, variant and scenario
   * @throws picocli.CommandLine.ParameterException naming the known values of an unknown name
   */
  Resolved resolve(CommandLine cmd) {
    DriverFactory f = Catalog.load().driver(cmd, driver);
    return new Resolved(f, Catalog.variant(cmd, f, variant), Catalog.scenario(cmd, scenario));
  }
}
