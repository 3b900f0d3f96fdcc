package io.mmulab.driver.hfi1;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

/** The conformance suite: consolidated clean everywhere, every declared race found. */
class Hfi1ConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new Hfi1Factory();
  }
}
