package io.mmulab.driver.gntdev;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

/** The conformance suite: consolidated clean everywhere, every declared race found. */
class GntdevConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new GntdevFactory();
  }
}
