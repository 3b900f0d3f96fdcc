package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplayCommandTest {
  @TempDir Path dir;

  private static Cli replay(Cli.Race race, String... more) {
    String[] base = {
      "replay",
      "--driver",
      "dmirror",
      "--variant",
      "legacy",
      "--scenario",
      race.scenario(),
      "--seed",
      Long.toString(race.seed())
    };
    String[] args = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, args, base.length, more.length);
    return Cli.run(args);
  }

  @Test
  void replay_ofALegacyRace_printsTheTraceAndTheSameViolationTwice() {
    Cli.Race race = Cli.dmirrorRace();
    Cli once = replay(race);
    Cli twice = replay(race);
    assertThat(once.code()).as(once.err()).isZero();
    assertThat(once.out())
        .startsWith("replay dmirror/legacy " + race.scenario() + " seed " + race.seed() + ": ")
        .contains("#0 @0ns main: ")
        .contains("verdict: declared race " + race.race().name())
        .containsPattern("violation 1 of \\d+: (STALE_USE|USE_AFTER_FREE|PERMISSION) by ")
        .contains("trace (oldest first):", "right after: #");
    assertThat(twice.out()).isEqualTo(once.out());
  }

  @Test
  void replay_ofACleanSeed_saysClean() {
    Cli r =
        Cli.run(
            "replay",
            "--driver",
            "dmirror",
            "--variant",
            "consolidated",
            "--scenario",
            "munmap-vs-fault",
            "--seed",
            "1");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("verdict: clean").doesNotContain("violation 1");
  }

  @Test
  void replay_html_hasEveryLane_theWindows_andTheMarkedViolation() throws Exception {
    Cli.Race race = Cli.dmirrorRace();
    Path file = dir.resolve("sub/race.html");
    Cli r = replay(race, "--html", file.toString());
    assertThat(r.code()).isZero();
    assertThat(r.out()).endsWith("timeline: " + file + "\n");
    String html = Files.readString(file);

    Cli.assertLanes(html, Cli.raceThreads());
    assertThat(html)
        .doesNotContain("<script", "<link", "src=\"http")
        .contains(" window", "id=\"replay-mark\"", "href=\"#replay-mark\"")
        .containsPattern("✖ (STALE_USE|USE_AFTER_FREE|PERMISSION) by \\S+, right after this")
        .containsPattern("<div class=\"violation\"><b>(STALE_USE|USE_AFTER_FREE|PERMISSION)</b>")
        .contains("<h2>The race as a story</h2>", "class=\"st r-violation\"");
    assertThat(html.indexOf("<svg class=\"story\"")).isLessThan(html.indexOf("id=\"replay-mark\""));
  }
}
