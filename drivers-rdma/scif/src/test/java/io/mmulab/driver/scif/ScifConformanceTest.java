package io.mmulab.driver.scif;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

/** The conformance suite: consolidated clean everywhere, the pin-then-insert race found. */
class ScifConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new ScifFactory();
  }
}
