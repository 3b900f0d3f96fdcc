package io.mmulab.cli;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.testkit.scenario.Scenario;
import io.mmulab.testkit.scenario.ScenarioRunner;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code mmulab run}, the main job: every discovered driver × variant × scenario over a seed budget
 * under the deterministic runtime, then a short real-thread load per consolidated driver; prints
 * the summary table (or JSON) and writes the HTML report. Exit 0 when every consolidated variant is
 * clean and every declared race was reproduced, 1 otherwise (one line per problem).
 */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Runs every driver × variant × scenario over a seed budget under the deterministic"
          + " scheduler, then a short real-thread load per consolidated driver.",
      "Exit 0 when every consolidated variant is clean and every declared race was reproduced,"
          + " 1 otherwise."
    })
final class RunCommand implements Callable<Integer> {
  /**
   * Seeds per driver × variant × scenario by default: with dmirror, i915, nouveau and radeon (9
   * variants × 9 scenarios, 81,000 runs) about a minute on 2 cores and JDK 25 (virtual threads),
   * the real-thread loads included; several times longer on JDK 17's platform threads.
   */
  static final String DEFAULT_SEEDS = "1000";

  /** The last seed a declared race is searched to by default. */
  static final String DEFAULT_RACE_SEEDS = "1000";

  /** Seeds per scenario and round of the race search. */
  private static final int RACE_CHUNK = 50;

  @Spec private CommandSpec spec;

  @ParentCommand private Main main;

  @Option(
      names = "--seeds",
      paramLabel = "N|A..B",
      converter = Converters.Budget.class,
      defaultValue = DEFAULT_SEEDS,
      description =
          "Seeds per driver × variant × scenario: N means 1..N (default ${DEFAULT-VALUE}).")
  private SeedRange seeds;

  @Option(
      names = "--race-seeds",
      paramLabel = "N",
      defaultValue = DEFAULT_RACE_SEEDS,
      description =
          "A declared race not shown within --seeds is searched further in its scenario, up to"
              + " seed N (default ${DEFAULT-VALUE}).")
  private long raceSeeds;

  @Option(
      names = "--drivers",
      split = ",",
      paramLabel = "D",
      description = "Only these drivers (default: every driver found).")
  private List<String> drivers = new ArrayList<>();

  @Option(
      names = "--scenarios",
      split = ",",
      paramLabel = "S",
      description = "Only these scenarios (default: all).")
  private List<String> scenarios = new ArrayList<>();

  @Option(names = "--json", description = "Print the summary as JSON.")
  private boolean json;

  @Option(
      names = "--jobs",
      paramLabel = "N",
      description = "Worker threads (default: the number of processors).")
  private int jobs = Runtime.getRuntime().availableProcessors();

  @Option(
      names = "--load-seconds",
      paramLabel = "S",
      defaultValue = "1",
      description =
          "Real-thread load per consolidated driver, in seconds; 0 skips it (default"
              + " ${DEFAULT-VALUE}).")
  private double loadSeconds;

  @Option(
      names = "--report",
      paramLabel = "DIR",
      defaultValue = "mmulab-report",
      description = "Where to write index.html (default ${DEFAULT-VALUE}).")
  private Path reportDir;

  @Override
  public Integer call() {
    CommandLine cmd = spec.commandLine();
    if (jobs < 1) {
      throw new ParameterException(cmd, "--jobs must be at least 1, not " + jobs);
    }
    if (raceSeeds < 1 || raceSeeds > SeedRange.MAX_SEED) {
      throw new ParameterException(
          cmd, "--race-seeds must be in 1.." + SeedRange.MAX_SEED + ", not " + raceSeeds);
    }
    if (!(loadSeconds >= 0 && loadSeconds <= 600)) {
      throw new ParameterException(cmd, "--load-seconds must be in 0..600, not " + loadSeconds);
    }
    Catalog catalog = Catalog.load();
    List<DriverFactory> factories = catalog.drivers(cmd, drivers);
    List<Scenario> selected = Catalog.scenarios(cmd, scenarios);
    PrintWriter err = cmd.getErr();
    if (factories.isEmpty()) {
      err.println("mmulab: no driver found on the class path");
      return Main.EXIT_FAILED;
    }
    OutputPath.requireWritableDirectory(cmd, "--report", reportDir, Report.FILE);
    long t0 = System.nanoTime();
    List<Tally> tallies = sweep(factories, selected, err);
    searchRaces(tallies, err);
    Map<String, LoadResult> loads = loads(factories, err);
    Summary summary =
        new Summary(
            seeds,
            Math.max(seeds.last(), raceSeeds),
            loadSeconds,
            tallies,
            loads,
            (System.nanoTime() - t0) / 1e9,
            Summary.currentRuntime());
    String report = writeReport(summary, err);
    PrintWriter out = cmd.getOut();
    if (json) {
      out.print(summary.renderJson(report));
    } else {
      out.print(summary.renderText());
      if (report != null) {
        out.println("report: " + report);
      }
    }
    out.flush();
    return summary.problems().isEmpty() && report != null ? 0 : Main.EXIT_FAILED;
  }

  /** Every driver × variant × scenario over the seeds, one tally per driver variant. */
  private List<Tally> sweep(
      List<DriverFactory> factories, List<Scenario> selected, PrintWriter err) {
    List<Tally> tallies = new ArrayList<>();
    Sweep sweep = new Sweep();
    for (DriverFactory f : factories) {
      for (DriverVariant v : Catalog.variants(f)) {
        Tally t = new Tally(f, v, selected, seeds, raceSeeds);
        tallies.add(t);
        ScenarioRunner runner = new ScenarioRunner(f, v);
        for (Scenario s : selected) {
          sweep.add(new Sweep.Part(runner, s, seeds, t::add));
        }
      }
    }
    Progress progress = main.progress(err, sweep.size());
    sweep.run(jobs, progress);
    progress.finish("deterministic runs done");
    return tallies;
  }

  /**
   * Searches each (declared race, scenario) pair the sweep did not show further in that scenario, a
   * chunk of seeds at a time for all of them together, until it shows or its tally's race seeds are
   * spent.
   */
  private void searchRaces(List<Tally> tallies, PrintWriter err) {
    for (long from = seeds.last() + 1; ; from += RACE_CHUNK) {
      Sweep sweep = new Sweep();
      for (Tally t : tallies) {
        long to = Math.min(from + RACE_CHUNK - 1, t.raceSeeds().last());
        if (from > to) {
          continue;
        }
        ScenarioRunner runner = new ScenarioRunner(t.driver(), t.variant());
        SeedRange chunk = new SeedRange(from, to);
        t.missingRaces().stream()
            .map(r -> Catalog.scenario(spec.commandLine(), r.scenario()))
            .distinct()
            .forEach(s -> sweep.add(new Sweep.Part(runner, s, chunk, t::addRaceSearch)));
      }
      if (sweep.size() == 0) {
        return;
      }
      Progress progress = main.progress(err, sweep.size());
      sweep.run(jobs, progress);
      progress.finish("race search, seeds from " + from);
    }
  }

  /** The real-thread load of each driver's consolidated variant, one after the other. */
  private Map<String, LoadResult> loads(List<DriverFactory> factories, PrintWriter err) {
    Map<String, LoadResult> loads = new LinkedHashMap<>();
    if (loadSeconds == 0) {
      return loads;
    }
    Duration d = Duration.ofMillis(Math.round(loadSeconds * 1000));
    for (DriverFactory f : factories) {
      if (f.variants().contains(DriverVariant.CONSOLIDATED)) {
        err.printf("real-thread load: %s/consolidated for %s s%n", f.name(), loadSeconds);
        err.flush();
        loads.put(f.name(), new LoadRun(f, d, seeds.first()).run());
      }
    }
    return loads;
  }

  /** Writes the HTML report; returns its path, or null (said on stderr) if it cannot. */
  private @Nullable String writeReport(Summary summary, PrintWriter err) {
    try {
      return Report.write(reportDir, summary).toString();
    } catch (IOException e) {
      err.println(
          "mmulab: cannot write the report into " + reportDir + ": " + OutputPath.reason(e));
      return null;
    }
  }
}
