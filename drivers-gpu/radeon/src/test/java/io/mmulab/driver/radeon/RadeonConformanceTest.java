package io.mmulab.driver.radeon;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

/** The conformance suite: consolidated clean everywhere, every declared race found. */
class RadeonConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new RadeonFactory();
  }
}
