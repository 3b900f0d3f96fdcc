package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.testkit.Drivers;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LoadRunTest {
  @Test
  void load_ofDmirrorConsolidated_countsFaultsInvalidationsAndStaysClean() {
    LoadResult r = new LoadRun(Drivers.load().get("dmirror"), Duration.ofMillis(300), 1).run();
    assertThat(r.errors()).isEmpty();
    assertThat(r.violationCount()).as("%s", r.violations()).isZero();
    assertThat(r.problems()).isEmpty();
    assertThat(r.seconds()).isGreaterThan(0.2);
    assertThat(r.deviceOps()).isPositive();
    assertThat(r.cpuOps()).isPositive();
    assertThat(r.invalidations()).isGreaterThanOrEqualTo(r.cpuOps());
    assertThat(r.faults()).isPositive().isLessThanOrEqualTo(r.deviceOps());
    assertThat(r.retries()).isLessThanOrEqualTo(r.deviceOps());
    assertThat(r.faultsPerSecond()).isPositive();
    assertThat(r.invalidationsPerSecond()).isPositive();
  }
}
