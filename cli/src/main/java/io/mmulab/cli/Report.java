package io.mmulab.cli;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.RaceScenario;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The HTML report of {@code mmulab run}: the summary table, the problems, and the story of each
 * race found (each declared race where it first showed, and the first undeclared failure of each
 * scenario), drawn by {@link RaceStory}. One self-contained file.
 */
final class Report {
  /** The name of the report file inside its directory. */
  static final String FILE = "index.html";

  private Report() {}

  /**
   * Writes {@code index.html} into {@code dir}, creating it.
   *
   * @param dir the directory
   * @param summary what the run found
   * @return the file written
   * @throws IOException if it cannot be written
   */
  static Path write(Path dir, Summary summary) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve(FILE);
    Files.writeString(file, render(summary), StandardCharsets.UTF_8);
    return file;
  }

  /**
   * Renders the report.
   *
   * @param summary what the run found
   * @return the HTML document
   */
  static String render(Summary summary) {
    StringBuilder sb = new StringBuilder("<h1>mmulab run</h1>\n<p class=\"dim\">");
    sb.append(Html.esc(summary.header())).append("</p>\n");
    table(sb, summary);
    List<String> problems = summary.problems();
    if (problems.isEmpty()) {
      sb.append("<p class=\"ok\">OK: every consolidated variant is clean and every declared race");
      sb.append(" was reproduced.</p>\n");
    } else {
      problems.forEach(
          p -> sb.append("<p class=\"bad\">FAIL: ").append(Html.esc(p)).append("</p>\n"));
    }
    List<String> undeclared = summary.undeclaredFindings();
    if (!undeclared.isEmpty()) {
      sb.append("<h3>Findings no declared race covers (failures of run)</h3>\n<ul>");
      undeclared.forEach(n -> sb.append("<li class=\"mono\">").append(Html.esc(n)).append("</li>"));
      sb.append("</ul>\n");
    }
    List<Section> sections = new ArrayList<>();
    for (Tally t : summary.tallies()) {
      // One story per race: the scenario where it showed at the lowest seed; the others listed.
      Map<String, List<Finding>> byRace = new TreeMap<>();
      Map<String, DeclaredRace> races = new TreeMap<>();
      for (Map.Entry<RaceScenario, Finding> e : t.raceFindings().entrySet()) {
        DeclaredRace race = e.getKey().race();
        races.put(race.name(), race);
        byRace.computeIfAbsent(race.name(), k -> new ArrayList<>()).add(e.getValue());
      }
      byRace.forEach(
          (name, found) -> {
            found.sort(Comparator.comparingLong(Finding::seed));
            String id = "t" + (sections.size() + 1);
            sections.add(section(id, "Race " + name, t, found, races.get(name)));
          });
      for (Finding f : t.undeclared().values()) {
        String id = "t" + (sections.size() + 1);
        sections.add(section(id, "Undeclared failure", t, List.of(f), null));
      }
    }
    if (!sections.isEmpty()) {
      sb.append(
          "<h2>Races</h2>\n<p class=\"dim\">Each race as a story: the few events that make it,");
      sb.append(
          " drawn from its shrunk schedule, one lane per thread, the invalidation window as a");
      sb.append(" band, an arrow for each ordering that mattered; beside it, the same choices");
      sb.append(" replayed on the consolidated variant.</p>\n<ul>");
      for (Section s : sections) {
        sb.append("<li><a href=\"#").append(s.id()).append("\">").append(Html.esc(s.title()));
        sb.append("</a></li>");
      }
      sb.append("</ul>\n").append(StorySvg.DEFS);
      sections.forEach(s -> sb.append(s.html()));
      sb.append(RaceStory.SCRIPT);
    }
    return Html.document("mmulab run", sb.toString());
  }

  private static void table(StringBuilder sb, Summary summary) {
    sb.append("<table class=\"sum\"><tr><th>driver</th><th>model</th><th>variant</th>");
    sb.append("<th>scenarios</th><th>seeds</th><th>violations (runs, by kind)</th>");
    sb.append("<th>first failing seed per declared race</th><th>faults/s</th>");
    sb.append("<th>invalidations/s</th><th>retries</th></tr>\n");
    for (Tally t : summary.tallies()) {
      LoadResult load =
          t.variant() == DriverVariant.CONSOLIDATED ? summary.loads().get(t.driver().name()) : null;
      sb.append("<tr><td>").append(Html.esc(t.driver().name())).append("</td><td>");
      sb.append(t.driver().model()).append("</td><td>").append(Catalog.name(t.variant()));
      sb.append("</td><td class=\"num\">").append(t.scenarios().size());
      sb.append("</td><td class=\"num\">").append(t.seeds().count()).append("</td><td>");
      sb.append(Html.esc(Summary.kinds(t.kindRuns()))).append("</td><td>");
      sb.append(Html.esc(Summary.races(t)).replace("\n", "<br>")).append("</td>");
      for (String v :
          load == null
              ? List.of("-", "-", "-")
              : List.of(
                  Long.toString(load.faultsPerSecond()),
                  Long.toString(load.invalidationsPerSecond()),
                  Long.toString(load.retries()))) {
        sb.append("<td class=\"num\">").append(v).append("</td>");
      }
      sb.append("</tr>\n");
    }
    sb.append("</table>\n");
  }

  /** One timeline of the report. */
  private record Section(String id, String title, String html) {}

  private static Section section(
      String id, String kind, Tally t, List<Finding> found, @Nullable DeclaredRace race) {
    Finding f = found.get(0);
    String who = t.driver().name() + "/" + Catalog.name(t.variant());
    List<String> facts = new ArrayList<>();
    facts.add(who + ", scenario " + f.run().scenario().name() + ", first seed " + f.seed());
    facts.add(race != null ? race.description() : f.what());
    facts.add("replay: " + ReplayCommand.command(f.run()));
    for (Finding g : found.subList(1, found.size())) {
      facts.add(
          "also in "
              + g.run().scenario().name()
              + ", first seed "
              + g.seed()
              + ": "
              + ReplayCommand.command(g.run()));
    }
    String title = kind + ": " + who + " " + f.run().scenario().name() + " seed " + f.seed();
    return new Section(id, title, RaceStory.section(id, title, facts, t.driver(), t.variant(), f));
  }
}
