package io.mmulab.driver.vhost;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

class VhostConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new VhostFactory();
  }
}
