package io.mmulab.driver.i915;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

/** Every scenario on both variants: consolidated clean, the declared legacy race found. */
class I915ConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new I915Factory();
  }
}
