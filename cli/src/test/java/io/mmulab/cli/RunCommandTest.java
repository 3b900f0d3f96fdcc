package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandTest {
  @TempDir Path dir;

  @Test
  void run_reproducingTheDeclaredRace_printsTheTable_writesTheReport_andPasses() throws Exception {
    Cli.Race race = Cli.dmirrorRace();
    Path report = dir.resolve("report");
    Cli r =
        Cli.run(
            "run",
            "--drivers",
            "dmirror",
            "--scenarios",
            race.scenario(),
            "--seeds",
            Long.toString(race.seed()),
            "--load-seconds",
            "0.3",
            "--report",
            report.toString());
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out())
        .startsWith(
            "mmulab run: "
                + race.seed()
                + " seeds ("
                + new SeedRange(1, race.seed())
                + ") per driver × variant × scenario, declared races searched to seed "
                + RunCommand.DEFAULT_RACE_SEEDS
                + ", 0.3 s real-thread load per consolidated driver; ")
        .contains(" s on " + Summary.currentRuntime() + "\n")
        .contains(
            "DRIVER", "FIRST FAILING SEED PER DECLARED RACE", "FAULTS/S", "INVAL/S", "RETRIES")
        .containsPattern("dmirror +SHADOW_PTE +legacy +1 +" + race.seed() + " ")
        .contains(race.race().name() + ": " + race.scenario() + " " + race.seed())
        .containsPattern(
            "dmirror +SHADOW_PTE +consolidated +1 +" + race.seed() + " +none +- +\\d+ +\\d+ +\\d+")
        .contains(
            "OK: every consolidated variant is clean, every finding is declared and every declared"
                + " race was reproduced")
        .endsWith("report: " + report.resolve("index.html") + "\n");
    assertThat(r.err()).contains("runs in ", "real-thread load: dmirror/consolidated");

    String html = Files.readString(report.resolve("index.html"));
    assertThat(html)
        .contains("<table class=\"sum\">", "Race " + race.race().name() + ": dmirror/legacy")
        .contains("<svg class=\"story\"", "class=\"st r-violation\"", "class=\"st r-lookup\"")
        .contains("<figure class=\"side fixed\">")
        .contains(
            "replay: ./mmulab replay --driver dmirror --variant legacy --scenario "
                + race.scenario()
                + " --seed "
                + race.seed());
  }

  @Test
  void run_withoutTheRace_saysWhichRaceWasNotReproduced_andExitsOne() {
    Cli.Race race = Cli.dmirrorRace();
    String quiet = race.quietSeed() + ".." + race.quietSeed();
    Cli r =
        Cli.run(
            "run",
            "--drivers",
            "dmirror",
            "--scenarios",
            race.scenario(),
            "--seeds",
            quiet,
            "--race-seeds",
            "1",
            "--load-seconds",
            "0",
            "--report",
            dir.toString());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out())
        .contains(race.race().name() + ": " + race.scenario() + " NOT REPRODUCED")
        .contains(
            "FAIL: dmirror/legacy: declared race "
                + race.race().name()
                + " ("
                + race.scenario()
                + ") not reproduced in seeds "
                + race.quietSeed());
  }

  @Test
  void run_searchesADeclaredRaceNotShownWithinTheSeeds_pastThem() {
    Cli.Race race = Cli.dmirrorRace();
    assumeTrue(
        race.quietSeed() < race.seed(), "the race shows at the first quiet seed's successor");
    Cli r =
        Cli.run(
            "run",
            "--drivers",
            "dmirror",
            "--scenarios",
            race.scenario(),
            "--seeds",
            race.quietSeed() + ".." + race.quietSeed(),
            "--race-seeds",
            Long.toString(race.seed()),
            "--load-seconds",
            "0",
            "--report",
            dir.toString());
    assertThat(r.out())
        .contains(race.race().name() + ": " + race.scenario() + " " + race.seed())
        .contains("declared races searched to seed " + race.seed());
    assertThat(r.err()).contains("race search, seeds from " + (race.quietSeed() + 1));
  }

  @Test
  void run_aConsolidatedVariantWithViolations_failsNamingIt() {
    Cli.Race race = Cli.dmirrorRace();
    Cli r =
        Cli.run(
            "run",
            "--drivers",
            BrokenMirrorPlugin.NAME,
            "--scenarios",
            race.scenario(),
            "--seeds",
            race.seed() + ".." + race.seed(),
            "--load-seconds",
            "0",
            "--report",
            dir.toString());
    assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
    assertThat(r.out())
        .as(r.err())
        .contains(
            "FAIL: broken-mirror/consolidated: 1 of 1 runs not clean, first: "
                + race.scenario()
                + " seed "
                + race.seed()
                + ": undeclared ");
  }

  @Test
  void run_json_printsTheSameSummary() {
    Cli r =
        Cli.run(
            "run",
            "--drivers",
            "dmirror",
            "--scenarios",
            "munmap-vs-fault",
            "--seeds",
            "2",
            "--load-seconds",
            "0",
            "--json",
            "--report",
            dir.toString());
    assertThat(r.out())
        .startsWith("{")
        .contains(
            "\"seeds\": \"1..2\"",
            "\"driver\": \"dmirror\"",
            "\"variant\": \"legacy\"",
            "\"variant\": \"consolidated\"",
            "\"violationRunsByKind\": ",
            "\"declaredRaces\": [",
            "\"realThreads\": null",
            "\"report\": \"" + dir.resolve("index.html") + "\"")
        .containsPattern("\"passed\": (true|false)");
    assertThat(r.code()).isEqualTo(r.out().contains("\"passed\": true") ? 0 : 1);
  }
}
