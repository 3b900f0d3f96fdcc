package io.mmulab.testkit.regcache;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.DriverConformanceSuite;

/**
 * The registration cache runs the conformance suite: its consolidated variant clean, its legacy
 * variant's every finding declared as the pin-before-insert race.
 */
class RegCacheConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new RegCacheDriver();
  }
}
