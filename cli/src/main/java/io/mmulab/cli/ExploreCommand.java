package io.mmulab.cli;

import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.ScenarioRun;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code mmulab explore}: a seed sweep of one scenario of one driver variant, or one shard of it.
 * Prints one line per seed that was not clean and a summary; exit 1 if a seed failed in a way no
 * declared race covers.
 */
@Command(
    name = "explore",
    mixinStandardHelpOptions = true,
    description = {
      "Sweeps the seeds of one scenario of one driver variant; --shard i/n runs the i-th of n"
          + " equal parts, so that n machines split one sweep.",
      "Prints each seed that was not clean; exit 1 if a seed failed in a way no declared race"
          + " covers."
    })
final class ExploreCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;

  @ParentCommand private Main main;

  @ArgGroup(exclusive = false, multiplicity = "1")
  private Target target;

  @Option(
      names = "--seeds",
      required = true,
      paramLabel = "A..B",
      converter = Converters.Seeds.class,
      description = "The seeds, both ends included.")
  private SeedRange seeds;

  @Option(
      names = "--shard",
      paramLabel = "i/n",
      converter = Converters.Shards.class,
      description = "Run only the i-th of n equal parts of the seeds (1 <= i <= n).")
  private Shard shard = Shard.ALL;

  @Option(names = "--json", description = "Print the result as JSON.")
  private boolean json;

  @Option(
      names = "--jobs",
      paramLabel = "N",
      description = "Worker threads (default: the number of processors).")
  private int jobs = Runtime.getRuntime().availableProcessors();

  @Override
  public Integer call() {
    CommandLine cmd = spec.commandLine();
    if (jobs < 1) {
      throw new ParameterException(cmd, "--jobs must be at least 1, not " + jobs);
    }
    Target.Resolved t = target.resolve(cmd);
    Optional<SeedRange> slice = shard.slice(seeds);
    Findings findings = new Findings(t.factory().declaredRaces(t.variant()));
    if (slice.isPresent()) {
      Sweep sweep = new Sweep();
      sweep.add(new Sweep.Part(t.runner(), t.scenario(), slice.get(), findings::add));
      Progress progress = main.progress(cmd.getErr(), sweep.size());
      sweep.run(jobs, progress);
      progress.finish(findings.notClean.size() + " seed(s) not clean");
    }
    ExploreResult result =
        new ExploreResult(
            t.factory().name(),
            Catalog.name(t.variant()),
            t.scenario().name(),
            seeds,
            shard,
            slice,
            findings.runs,
            findings.clean,
            findings.failed,
            findings.races,
            findings.notClean);
    PrintWriter out = cmd.getOut();
    out.print(json ? result.json() : result.text());
    out.flush();
    return result.passed() ? 0 : Main.EXIT_FAILED;
  }

  /** What a sweep found, judged with the testkit's {@link Verdict}; filled by worker threads. */
  private static final class Findings {
    private final List<DeclaredRace> declared;
    private final SortedMap<Long, String> notClean = new TreeMap<>();
    private final SortedMap<String, Long> races = new TreeMap<>();
    private long runs;
    private long clean;
    private long failed;

    Findings(List<DeclaredRace> declared) {
      this.declared = declared;
    }

    synchronized void add(ScenarioRun run) {
      runs++;
      if (run.isClean()) {
        clean++;
        return;
      }
      Verdict v = Verdict.of(run, declared);
      if (!v.passed()) {
        failed++;
      }
      notClean.put(run.seed(), (v.passed() ? "" : "UNDECLARED: ") + Tally.brief(v));
      v.races().keySet().forEach(r -> races.merge(r.name(), run.seed(), Math::min));
    }
  }
}
