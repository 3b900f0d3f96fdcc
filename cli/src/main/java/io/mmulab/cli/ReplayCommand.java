package io.mmulab.cli;

import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.TraceEntry;
import io.mmulab.testkit.Verdict;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code mmulab replay}: runs one seed's schedule again and prints its labelled trace, then the
 * verdict and the violations; {@code --html} also draws it as a swimlane timeline. Exit 1 if the
 * run failed in a way no declared race covers.
 */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description = {
      "Re-runs one seed's schedule of one scenario and prints the labelled trace and the"
          + " violation; --html writes the swimlane timeline.",
      "Exit 1 if the run failed in a way no declared race covers."
    })
final class ReplayCommand implements Callable<Integer> {
  /** Distinct violations listed after the first, at most. */
  private static final int MORE = 9;

  @Spec private CommandSpec spec;

  @ArgGroup(exclusive = false, multiplicity = "1")
  private Target target;

  @Option(
      names = "--seed",
      required = true,
      paramLabel = "N",
      converter = Converters.Seeds.class,
      description = "The seed.")
  private SeedRange seed;

  @Option(
      names = "--html",
      paramLabel = "FILE",
      description = "Also write a self-contained HTML page with the swimlane timeline.")
  private @Nullable Path html;

  /**
   * Returns the command line that replays a run.
   *
   * @param run the run
   * @return {@code ./mmulab replay --driver … --variant … --scenario … --seed …}
   */
  static String command(ScenarioRun run) {
    return "./mmulab replay --driver "
        + run.driver()
        + " --variant "
        + Catalog.name(run.variant())
        + " --scenario "
        + run.scenario().name()
        + " --seed "
        + run.seed();
  }

  @Override
  public Integer call() {
    CommandLine cmd = spec.commandLine();
    if (seed.count() != 1) {
      throw new ParameterException(
          cmd, "--seed takes one seed, not the range " + seed + " (explore sweeps ranges)");
    }
    Target.Resolved t = target.resolve(cmd);
    if (html != null) {
      OutputPath.requireWritableFile(cmd, "--html", html);
    }
    ScenarioRunner runner = t.runner();
    ScenarioRun run = runner.withWholeCheckerTraces(runner.run(t.scenario(), seed.first()));
    Verdict verdict = Verdict.of(run, t.factory().declaredRaces(t.variant()));
    String said = run.isClean() ? "clean" : Tally.brief(verdict);
    Violation first = run.violations().isEmpty() ? null : run.violations().get(0);
    int marked = first == null ? -1 : ViolationStep.locate(runner, run, first);
    PrintWriter out = cmd.getOut();
    out.printf(
        "replay %s seed %d: %s, %d scheduling points, %d events%n",
        t.label(), run.seed(), run.outcome(), run.result().steps(), run.result().trace().size());
    out.print(run.result().trace().render());
    out.println();
    if (run.result().failure() != null) {
      out.println("thread " + run.result().failedThread() + " failed: " + run.result().failure());
    }
    run.warnings().forEach(w -> out.println("kernel warning: " + w));
    out.println("verdict: " + said);
    if (first != null) {
      printViolations(out, run, marked);
    }
    if (html != null) {
      try {
        writeHtml(t, run, said, marked);
        out.println("timeline: " + html);
      } catch (IOException e) {
        out.flush();
        cmd.getErr()
            .println("mmulab: cannot write the timeline to " + html + ": " + OutputPath.reason(e));
        cmd.getErr().flush();
        return Main.EXIT_FAILED;
      }
    }
    out.flush();
    return verdict.passed() ? 0 : Main.EXIT_FAILED;
  }

  /** The first violation with its checker trace and where it happened, then the others. */
  private static void printViolations(PrintWriter out, ScenarioRun run, int marked) {
    Violation first = run.violations().get(0);
    out.println(
        "violation 1 of " + run.violationCount() + ": " + first.toString().replace("\n", "\n  "));
    if (marked >= 0) {
      TraceEntry e = run.result().trace().entries().get(marked);
      out.println("it happens in " + e.thread() + " right after: " + e);
    }
    Map<String, Long> others =
        run.violations().stream()
            .skip(1)
            .collect(
                Collectors.groupingBy(
                    Violation::summary, LinkedHashMap::new, Collectors.counting()));
    others.entrySet().stream()
        .limit(MORE)
        .forEach(
            e ->
                out.println(
                    "also"
                        + (e.getValue() > 1 ? " (" + e.getValue() + "×)" : "")
                        + ": "
                        + e.getKey()));
    if (others.size() > MORE) {
      out.println("and " + (others.size() - MORE) + " other distinct violation(s)");
    }
  }

  private void writeHtml(Target.Resolved t, ScenarioRun run, String verdict, int marked)
      throws IOException {
    String title = t.label() + " seed " + run.seed();
    String section =
        TimelineHtml.section(
            "replay",
            title,
            List.of("replay: " + command(run), "verdict: " + verdict),
            run.result(),
            run.violations().isEmpty() ? null : run.violations().get(0),
            marked,
            true);
    Files.writeString(
        html,
        Html.document("mmulab replay " + title, story(t, run) + section),
        StandardCharsets.UTF_8);
  }

  /** The first violation's causal chain, drawn above the full timeline; empty if none. */
  private static String story(Target.Resolved t, ScenarioRun run) {
    if (run.violations().isEmpty()) {
      return "";
    }
    RunResult r = run.result();
    ScenarioRun journaled =
        t.runner().replayWithJournal(run.scenario(), r.config(), r.choiceArray());
    Violation first = run.violations().get(0);
    Story s =
        Story.ofViolation(
            journaled.result().trace().entries(),
            journaled.violations().isEmpty() ? first : journaled.violations().get(0));
    return "<h2>The race as a story</h2>\n"
        + StorySvg.DEFS
        + "<div class=\"pair\"><figure class=\"side\"><figcaption>"
        + Html.esc(s.title())
        + "</figcaption>\n"
        + StorySvg.render(s, Catalog.name(t.variant()))
        + "</figure></div>\n";
  }
}
