package io.mmulab.testkit.tutorial.fence;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

/** The tutorial's fence-waiting device runs the conformance suite, clean on every scenario. */
class FenceConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new FenceDriver();
  }
}
