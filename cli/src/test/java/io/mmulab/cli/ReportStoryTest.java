package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.testkit.Drivers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report of the default run (every built-in driver, variant and scenario; a few seeds per cell,
 * each declared race searched up to the default budget): every race is told as a story.
 */
class ReportStoryTest {
  private static final Pattern SECTION =
      Pattern.compile(
          "<section id=\"t\\d+\" class=\"race\">\\n<h2>Race ([^:]+): (\\S+)/(\\S+) (.*?)</section>",
          Pattern.DOTALL);
  private static final Pattern STORY =
      Pattern.compile("<svg class=\"story\" data-steps=\"(\\d+)\".*?</svg>", Pattern.DOTALL);

  /**
   * Races about data the device used: their story must show the lookup, invalidation and access.
   */
  private static final Set<ViolationKind> DATA_RACES =
      EnumSet.of(ViolationKind.STALE_USE, ViolationKind.USE_AFTER_FREE, ViolationKind.PERMISSION);

  @TempDir Path dir;

  @Test
  void everyRace_isAStoryOfAtMost40Steps_withTheFixedVariantBesideIt() throws Exception {
    Path report = dir.resolve("report");
    Cli r = Cli.run("run", "--seeds", "1..3", "--load-seconds", "0", "--report", report.toString());
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    String html = Files.readString(report.resolve(Report.FILE));
    assertThat(html.length()).as("report size").isLessThan(1_000_000);

    Map<String, DeclaredRace> expected = new LinkedHashMap<>();
    for (DriverFactory f : Drivers.load().factories()) {
      for (DriverVariant v : f.variants()) {
        for (DeclaredRace race : f.declaredRaces(v)) {
          expected.put(race.name() + " " + f.name() + "/" + Catalog.name(v), race);
        }
      }
    }
    Set<String> drawn = new LinkedHashSet<>();
    Matcher m = SECTION.matcher(html);
    while (m.find()) {
      String race = m.group(1) + " " + m.group(2) + "/" + m.group(3);
      drawn.add(race);
      String body = m.group(4);
      Matcher story = STORY.matcher(body);
      assertThat(story.find()).as(race + ": its story").isTrue();
      String legacy = story.group();
      assertThat(Integer.parseInt(story.group(1))).as(race + ": steps").isBetween(2, 40);
      if (!expected.containsKey(race)) {
        continue; // not a declared race: the set comparison below reports it
      }
      if (Collections.disjoint(expected.get(race).kinds(), DATA_RACES)) {
        assertThat(legacy)
            .as(race + ": the violation or the waits")
            .containsPattern("class=\"st r-(violation|wait)\"");
      } else {
        assertThat(legacy)
            .as(race + ": the violating access, the invalidation and the stale lookup")
            .contains("class=\"st r-violation\"", "class=\"st r-lookup\"")
            .containsPattern("class=\"st r-(access|program|pte)\"")
            .containsPattern("class=\"st r-(invalidation|pte)\"");
      }
      assertThat(story.find()).as(race + ": the fixed variant beside it").isTrue();
      assertThat(body)
          .contains("<figure class=\"side fixed\"><figcaption>consolidated, the same ")
          .containsPattern(
              "shrunk schedule: \\d+ preemptions and \\d+ scheduling points, from|schedule as found")
          .contains("<details class=\"trace\" data-gz=\"");
    }
    assertThat(drawn).as("one story per declared race").isEqualTo(expected.keySet());
    assertThat(html).contains(StorySvg.DEFS, RaceStory.SCRIPT);
  }
}
