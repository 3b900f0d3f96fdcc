package io.mmulab.cli;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.sched.ThreadKind;
import io.mmulab.testkit.RaceScenario;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The result of {@code mmulab run}: one tally per driver variant, the real-thread load of each
 * consolidated driver, and the rules' verdict; rendered as a text table or as JSON.
 *
 * @param seeds the seeds swept per driver × variant × scenario
 * @param raceLast the last seed a declared race not shown within {@code seeds} was searched to
 * @param loadSeconds the real-thread load per consolidated driver, in seconds (0: none)
 * @param tallies per driver variant, in driver then variant order
 * @param loads per consolidated driver name
 * @param wallSeconds how long the whole run took
 * @param runtime the JDK and the kind of thread that carried the simulated threads, such as {@code
 *     JDK 25.0.3 with virtual threads}
 */
record Summary(
    SeedRange seeds,
    long raceLast,
    double loadSeconds,
    List<Tally> tallies,
    Map<String, LoadResult> loads,
    double wallSeconds,
    String runtime) {

  /**
   * Returns the running JDK and the thread kind of the deterministic runs.
   *
   * @return such as {@code JDK 25.0.3 with virtual threads}
   */
  static String currentRuntime() {
    return "JDK " + Runtime.version() + " with " + ThreadKind.selected().label() + " threads";
  }

  /**
   * Returns what breaks the rules, one line each: a consolidated variant that was not clean (in the
   * sweeps or on real threads), a declared race that was not reproduced.
   *
   * @return the problems, empty if all is good
   */
  List<String> problems() {
    List<String> out = new ArrayList<>();
    tallies.forEach(t -> out.addAll(t.problems()));
    loads.values().forEach(l -> out.addAll(l.problems()));
    return out;
  }

  /**
   * Returns the first finding no declared race covers, per driver variant and scenario: each one
   * fails {@code run}, as it fails the conformance suite.
   *
   * @return one line each
   */
  List<String> undeclaredFindings() {
    List<String> out = new ArrayList<>();
    for (Tally t : tallies) {
      t.undeclared()
          .forEach(
              (scenario, f) ->
                  out.add(
                      t.driver().name()
                          + "/"
                          + Catalog.name(t.variant())
                          + " "
                          + scenario
                          + " seed "
                          + f.seed()
                          + ": "
                          + f.what()));
    }
    return out;
  }

  /**
   * Returns the header line: the budget, the time it took and what it ran on.
   *
   * @return the line
   */
  String header() {
    return String.format(
        "mmulab run: %d seeds (%s) per driver × variant × scenario, declared races searched to seed"
            + " %d, %s s real-thread load per consolidated driver; %.0f s on %s",
        seeds.count(), seeds, raceLast, trim(loadSeconds), wallSeconds, runtime);
  }

  /**
   * Renders the table, the problems and the notes.
   *
   * @return the text
   */
  String renderText() {
    TextTable table =
        new TextTable(
            "DRIVER",
            "MODEL",
            "VARIANT",
            "SCENARIOS>",
            "SEEDS>",
            "VIOLATIONS (runs, by kind)",
            "FIRST FAILING SEED PER DECLARED RACE",
            "FAULTS/S>",
            "INVAL/S>",
            "RETRIES>");
    for (Tally t : tallies) {
      LoadResult load =
          t.variant() == DriverVariant.CONSOLIDATED ? loads.get(t.driver().name()) : null;
      table.add(
          t.driver().name(),
          t.driver().model().name(),
          Catalog.name(t.variant()),
          Integer.toString(t.scenarios().size()),
          Long.toString(t.seeds().count()),
          kinds(t.kindRuns()),
          races(t),
          load == null ? "-" : Long.toString(load.faultsPerSecond()),
          load == null ? "-" : Long.toString(load.invalidationsPerSecond()),
          load == null ? "-" : Long.toString(load.retries()));
    }
    StringBuilder sb = new StringBuilder(header()).append("\n\n").append(table.render());
    List<String> undeclared = undeclaredFindings();
    if (!undeclared.isEmpty()) {
      sb.append("\nfindings no declared race covers (declare each, or fix the port):\n");
      undeclared.forEach(n -> sb.append("  ").append(n).append('\n'));
    }
    List<String> problems = problems();
    sb.append('\n');
    if (problems.isEmpty()) {
      sb.append(
          "OK: every consolidated variant is clean, every finding is declared and every declared"
              + " race was reproduced\n");
    } else {
      problems.forEach(p -> sb.append("FAIL: ").append(p).append('\n'));
    }
    return sb.toString();
  }

  /**
   * Renders the summary as JSON.
   *
   * @param reportPath where the HTML report was written, or null
   * @return the JSON text
   */
  String renderJson(@Nullable String reportPath) {
    Map<String, Object> root = new LinkedHashMap<>();
    Map<String, Object> budget = new LinkedHashMap<>();
    budget.put("seeds", seeds.toString());
    budget.put("seedsPerScenario", seeds.count());
    budget.put("raceSeedsUpTo", raceLast);
    budget.put("loadSeconds", loadSeconds);
    root.put("budget", budget);
    root.put("runtime", runtime);
    List<Object> rows = new ArrayList<>();
    for (Tally t : tallies) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("driver", t.driver().name());
      row.put("family", t.driver().family());
      row.put("model", t.driver().model());
      row.put("variant", Catalog.name(t.variant()));
      row.put("scenarios", t.scenarios().stream().map(s -> s.name()).toList());
      row.put("seeds", t.seeds().count());
      row.put("runs", t.runs());
      row.put("cleanRuns", t.cleanRuns());
      Map<String, Object> kinds = new LinkedHashMap<>();
      t.kindRuns().forEach((k, n) -> kinds.put(k.name(), n));
      row.put("violationRunsByKind", kinds);
      List<Object> races = new ArrayList<>();
      Map<RaceScenario, Finding> found = t.raceFindings();
      for (DeclaredRace r : raceList(t)) {
        Map<String, Object> race = new LinkedHashMap<>();
        race.put("name", r.name());
        List<Object> in = new ArrayList<>();
        for (RaceScenario rs : t.races()) {
          if (rs.race().equals(r)) {
            Map<String, Object> sc = new LinkedHashMap<>();
            sc.put("scenario", rs.scenario());
            sc.put("firstSeed", found.containsKey(rs) ? found.get(rs).seed() : null);
            in.add(sc);
          }
        }
        race.put("scenarios", in);
        races.add(race);
      }
      row.put("declaredRaces", races);
      List<Object> undeclared = new ArrayList<>();
      t.undeclared()
          .forEach(
              (scenario, f) -> {
                Map<String, Object> u = new LinkedHashMap<>();
                u.put("scenario", scenario);
                u.put("firstSeed", f.seed());
                u.put("what", f.what());
                undeclared.add(u);
              });
      row.put("undeclared", undeclared);
      LoadResult load =
          t.variant() == DriverVariant.CONSOLIDATED ? loads.get(t.driver().name()) : null;
      row.put("realThreads", load == null ? null : load(load));
      rows.add(row);
    }
    root.put("rows", rows);
    root.put("undeclared", undeclaredFindings());
    root.put("problems", problems());
    root.put("passed", problems().isEmpty());
    root.put("report", reportPath);
    root.put("wallSeconds", Math.round(wallSeconds * 10) / 10.0);
    return Json.write(root) + "\n";
  }

  private static Map<String, Object> load(LoadResult l) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("seconds", Math.round(l.seconds() * 100) / 100.0);
    m.put("deviceFaultsPerSecond", l.faultsPerSecond());
    m.put("invalidationsPerSecond", l.invalidationsPerSecond());
    m.put("retries", l.retries());
    m.put("deviceFaults", l.counters().faults());
    m.put("invalidations", l.counters().invalidations());
    m.put("refused", l.counters().refused());
    m.put("pinned", l.counters().pinned());
    m.put("unpinned", l.counters().unpinned());
    m.put("deviceOps", l.deviceOps());
    m.put("deviceErrors", l.deviceErrors());
    m.put("cpuOps", l.cpuOps());
    m.put("violations", l.violationCount());
    m.put("errors", l.errors());
    return m;
  }

  /**
   * Renders violation kinds with their run counts.
   *
   * @param kinds runs per kind
   * @return {@code "none"} or {@code "STALE_USE 12, USE_AFTER_FREE 3"}
   */
  static String kinds(Map<ViolationKind, Long> kinds) {
    return kinds.isEmpty()
        ? "none"
        : kinds.entrySet().stream()
            .map(e -> e.getKey() + " " + e.getValue())
            .collect(Collectors.joining(", "));
  }

  /**
   * Renders each declared race on one line with the first failing seed in each of its scenarios:
   * {@code gup-after-start: munmap-vs-fault 6, fork-cow-writable 143}.
   *
   * @param t the tally
   * @return the lines, {@code "-"} if the variant declares none
   */
  static String races(Tally t) {
    if (t.races().isEmpty()) {
      return "-";
    }
    Map<RaceScenario, Finding> found = t.raceFindings();
    List<String> lines = new ArrayList<>();
    for (DeclaredRace r : raceList(t)) {
      List<String> seeds = new ArrayList<>();
      for (RaceScenario rs : t.races()) {
        if (rs.race().equals(r)) {
          seeds.add(
              rs.scenario()
                  + " "
                  + (found.containsKey(rs) ? found.get(rs).seed() : "NOT REPRODUCED"));
        }
      }
      lines.add(r.name() + ": " + String.join(", ", seeds));
    }
    return String.join("\n", lines);
  }

  /** The distinct races of a tally's pairs, in declaration order. */
  private static List<DeclaredRace> raceList(Tally t) {
    return t.races().stream().map(RaceScenario::race).distinct().toList();
  }

  private static String trim(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }
}
