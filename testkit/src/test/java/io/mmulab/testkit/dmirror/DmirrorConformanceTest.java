package io.mmulab.testkit.dmirror;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

/** dmirror on the conformance suite: CONSOLIDATED clean, LEGACY's declared race found. */
class DmirrorConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new DmirrorFactory();
  }
}
