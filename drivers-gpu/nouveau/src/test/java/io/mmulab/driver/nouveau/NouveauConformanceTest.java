package io.mmulab.driver.nouveau;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

/** nouveau against the conformance suite: consolidated clean, the legacy race found. */
class NouveauConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new NouveauFactory();
  }
}
