package io.mmulab.driver.umemodp;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

/** RDMA ODP against the conformance suite: consolidated clean, the legacy deadlock found. */
class UmemOdpConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new UmemOdpFactory();
  }
}
