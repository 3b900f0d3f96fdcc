package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ExploreCommandTest {
  private static Cli explore(String variant, String scenario, String seeds, String... more) {
    String[] base = {
      "explore",
      "--driver",
      "dmirror",
      "--variant",
      variant,
      "--scenario",
      scenario,
      "--seeds",
      seeds
    };
    String[] args = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, args, base.length, more.length);
    return Cli.run(args);
  }

  @Test
  void explore_legacyRaceScenario_listsTheRaceSeeds_andPasses() {
    Cli.Race race = Cli.dmirrorRace();
    Cli r = explore("legacy", race.scenario(), "1.." + race.seed());
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out())
        .startsWith(
            "explore dmirror/legacy "
                + race.scenario()
                + ", seeds "
                + new SeedRange(1, race.seed()))
        .contains("seed " + race.seed() + ": declared race " + race.race().name())
        .contains(race.seed() + " runs: ")
        .contains(race.race().name() + " at seed " + race.seed())
        .contains(", 0 failed undeclared");
    assertThat(r.err()).contains(race.seed() + " runs in ");
  }

  @Test
  void explore_shards_splitTheSweep() {
    Cli first = explore("consolidated", "munmap-vs-fault", "1..5", "--shard", "1/2");
    Cli second = explore("consolidated", "munmap-vs-fault", "1..5", "--shard", "2/2");
    Cli none = explore("consolidated", "munmap-vs-fault", "1..1", "--shard", "2/2");
    assertThat(first.out()).contains("shard 1/2: 1..3", "3 runs: 3 clean");
    assertThat(second.out()).contains("shard 2/2: 4..5", "2 runs: 2 clean");
    assertThat(none.out()).contains("shard 2/2: no seeds", "0 runs");
    assertThat(first.code() + second.code() + none.code()).isZero();
  }

  @Test
  void explore_json_saysTheSameThing() {
    Cli r = explore("consolidated", "munmap-vs-fault", "3..4", "--json", "--shard", "1/1");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .startsWith("{")
        .contains(
            "\"driver\": \"dmirror\"",
            "\"variant\": \"consolidated\"",
            "\"seeds\": \"3..4\"",
            "\"runs\": 2",
            "\"clean\": 2",
            "\"notClean\": []",
            "\"passed\": true");
  }

  @Test
  void explore_consolidatedOfABrokenDriver_failsWithExitOne() {
    Cli.Race race = Cli.dmirrorRace();
    Cli r =
        Cli.run(
            "explore",
            "--driver",
            BrokenMirrorPlugin.NAME,
            "--variant",
            "consolidated",
            "--scenario",
            race.scenario(),
            "--seeds",
            race.seed() + ".." + race.seed());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("seed " + race.seed() + ": UNDECLARED: undeclared ");
  }
}
