package io.mmulab.testkit.regcache;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.ConformanceOptions;
import io.mmulab.testkit.ConformanceRunner;
import io.mmulab.testkit.ScenarioResult;
import io.mmulab.testkit.UndeclaredFailure;
import io.mmulab.testkit.regcache.RegCacheDevice.Flaw;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The registration-cache rules proven before a driver relies on them: each rule the checker holds a
 * {@code REGISTRATION_CACHE} device to is broken on purpose by one planted flaw, and the scenario
 * that probes it catches the flaw at a low seed; and an operation already in flight when its entry
 * is invalidated finishes on its pinned frame without a finding.
 */
class RegCacheRulesTest {
  /** The most seeds a planted flaw may take to be caught. */
  private static final int CATCH_WITHIN = 5;

  private static final ConformanceRunner RUNNER =
      new ConformanceRunner(
          ConformanceOptions.defaults().withSeeds(1, CATCH_WITHIN).withShrinkAttempts(0));

  static Stream<Arguments> flaws() {
    return Stream.of(
        Arguments.of(Flaw.KEEPS_NOTIFIERS, Scenarios.MUNMAP_VS_FAULT, "violation LIFETIME"),
        Arguments.of(
            Flaw.UNPINS_UNDER_USERS, Scenarios.MUNMAP_ZAP_VS_FAULT, "violation USE_AFTER_FREE"),
        Arguments.of(Flaw.NO_DOMAIN_MAP, Scenarios.MUNMAP_VS_FAULT, "violation ISOLATION"),
        Arguments.of(
            Flaw.USES_INVALIDATED_ENTRY, Scenarios.MUNMAP_VS_FAULT, "violation STALE_USE"));
  }

  @ParameterizedTest(name = "{0} caught by {1}")
  @MethodSource("flaws")
  void plantedFlaw_isCaughtAtALowSeed(Flaw flaw, String scenario, String signature) {
    ScenarioResult r =
        RUNNER.run(
            new RegCacheDriver(flaw), DriverVariant.CONSOLIDATED, Scenarios.byName(scenario));

    assertThat(r.failure())
        .as("%s within %d seeds: %s", flaw, CATCH_WITHIN, r.summary())
        .isPresent();
    UndeclaredFailure f = r.failure().get();
    System.out.printf("planted %s caught by %s at seed %d%n", flaw, scenario, f.seed());
    assertThat(f.seed()).isLessThanOrEqualTo(CATCH_WITHIN);
    assertThat(f.verdict().signature()).as(f.message()).contains(signature);
  }

  @Test
  void operationInFlight_finishesOnItsPinnedFrameAfterAnInvalidation_withoutAFinding() {
    Scenario scenario = Scenarios.byName(Scenarios.MUNMAP_VS_FAULT);
    List<RegCacheDevice> devices = new ArrayList<>();
    RegCacheDriver driver = new RegCacheDriver(Flaw.NONE, devices::add);
    ScenarioRunner runner = new ScenarioRunner(driver, DriverVariant.CONSOLIDATED);
    for (long seed = 1; seed <= 500; seed++) {
      devices.clear();
      ScenarioRun run = runner.run(scenario, seed);
      assertThat(run.isClean()).as(run.describe(40)).isTrue();
      int outlived = devices.stream().mapToInt(RegCacheDevice::outlivedInvalidations).sum();
      if (outlived > 0) {
        System.out.printf(
            "seed %d: %d invalidation(s) found their entry in use, clean: %s%n",
            seed, outlived, run);
        return;
      }
    }
    throw new AssertionError("no seed in 1..500 had an invalidation meet an operation in flight");
  }
}
