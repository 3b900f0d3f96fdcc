package io.mmulab.driver.hfi1;

import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.Scenarios;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a check: the sweep the pinned seeds and the declared races were derived from. Enabled with
 * {@code -Dhfi1.explore=all} (or a variant name), {@code -Dhfi1.seeds=N}, {@code
 * -Dhfi1.scenario=name,...}; prints, per variant and scenario, the first seed and the count of each
 * race ({@link Hfi1Races#classify}) the checker's violations show, and of the run outcomes.
 */
@EnabledIfSystemProperty(named = "hfi1.explore", matches = ".+")
class Hfi1ExploreTest {
  @Test
  void sweep_printsFirstFailingSeedPerVariantAndScenario() {
    int seeds = Integer.getInteger("hfi1.seeds", 200);
    String only = System.getProperty("hfi1.explore");
    for (DriverVariant v :
        List.of(DriverVariant.LEGACY, DriverVariant.AS_MERGED, DriverVariant.CONSOLIDATED)) {
      if (!only.equals("all") && !only.contains(v.name())) {
        continue;
      }
      ScenarioRunner runner = new ScenarioRunner(new Hfi1Factory(), v);
      for (Scenario s : Scenarios.all()) {
        if (!List.of(System.getProperty("hfi1.scenario", s.name()).split(",")).contains(s.name())) {
          continue;
        }
        long t0 = System.nanoTime();
        Map<String, Long> first = new TreeMap<>();
        Map<String, Integer> count = new TreeMap<>();
        for (long seed = 1; seed <= seeds; seed++) {
          ScenarioRun run = runner.run(s, seed);
          List<String> found =
              run.violations().stream().map(Hfi1Races::classify).distinct().toList();
          for (String race : found) {
            first.putIfAbsent(race, seed);
            count.merge(race, 1, Integer::sum);
          }
          first.putIfAbsent("outcome " + run.outcome(), seed);
          count.merge("outcome " + run.outcome(), 1, Integer::sum);
        }
        System.out.printf(
            "%s %s: first=%s count=%s %d ms%n",
            v, s.name(), first, count, (System.nanoTime() - t0) / 1_000_000);
      }
    }
  }
}
