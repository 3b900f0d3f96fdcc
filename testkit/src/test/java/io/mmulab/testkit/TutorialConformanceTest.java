package io.mmulab.testkit;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.testkit.tutorial.TutorialDriver;

/** The tutorial's driver runs the conformance suite, as every driver does: one line. */
class TutorialConformanceTest extends DriverConformanceSuite {
  @Override
  protected DriverFactory factory() {
    return new TutorialDriver();
  }
}
