package io.mmulab.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code mmulab merge}: combines the {@code explore --shard i/n --json} results of all {@code n}
 * shards of one sweep into the result of the unsharded sweep, printed the same way (text, or JSON
 * with {@code --json}). Refuses files that do not fit together. Exit 1 if a seed failed in a way no
 * declared race covers, as {@code explore}.
 */
@Command(
    name = "merge",
    mixinStandardHelpOptions = true,
    description = {
      "Combines the results of explore --shard i/n --json, one file per shard, into the result of"
          + " the unsharded sweep.",
      "Exit 1 if a seed failed in a way no declared race covers; 2 if the files are not every"
          + " shard of one sweep, each once."
    })
final class MergeCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;

  @Parameters(
      arity = "1..*",
      paramLabel = "FILE",
      description = "The output of explore --shard i/n --json, one file per shard.")
  private List<Path> files = new ArrayList<>();

  @Option(names = "--json", description = "Print the result as JSON.")
  private boolean json;

  /** One shard's result and the file it came from. */
  private record Part(Path file, ExploreResult result) {}

  @Override
  public Integer call() {
    CommandLine cmd = spec.commandLine();
    List<Part> parts = new ArrayList<>();
    for (Path f : files) {
      parts.add(new Part(f, read(cmd, f)));
    }
    ExploreResult merged = merge(cmd, parts);
    PrintWriter out = cmd.getOut();
    out.print(json ? merged.json() : merged.text());
    out.flush();
    return merged.passed() ? 0 : Main.EXIT_FAILED;
  }

  private static ExploreResult read(CommandLine cmd, Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ParameterException(cmd, "cannot read " + file + ": " + OutputPath.reason(e));
    }
    try {
      return ExploreResult.fromJson(text);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(
          cmd, file + " is not the output of explore --json: " + e.getMessage());
    }
  }

  /** Checks that the parts are every shard of one sweep, each once, and adds them up. */
  private static ExploreResult merge(CommandLine cmd, List<Part> parts) {
    Part first = parts.get(0);
    ExploreResult a = first.result();
    Part[] byIndex = new Part[a.shard().count()];
    for (Part p : parts) {
      ExploreResult b = p.result();
      if (!b.label().equals(a.label())) {
        throw misfit(cmd, p, b.label(), first, a.label());
      }
      if (!b.seeds().equals(a.seeds())) {
        throw misfit(cmd, p, "seeds " + b.seeds(), first, "seeds " + a.seeds());
      }
      if (b.shard().count() != a.shard().count()) {
        throw misfit(cmd, p, "shard " + b.shard(), first, "shard " + a.shard());
      }
      Part seen = byIndex[b.shard().index() - 1];
      if (seen != null) {
        throw new ParameterException(
            cmd, "shard " + b.shard() + " is given twice: " + seen.file() + " and " + p.file());
      }
      byIndex[b.shard().index() - 1] = p;
    }
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < byIndex.length; i++) {
      if (byIndex[i] == null) {
        missing.add(new Shard(i + 1, byIndex.length).toString());
      }
    }
    if (!missing.isEmpty()) {
      throw new ParameterException(
          cmd,
          "missing shard"
              + (missing.size() > 1 ? "s " : " ")
              + String.join(", ", missing)
              + " of the sweep "
              + a.label()
              + ", seeds "
              + a.seeds());
    }
    long runs = 0;
    long clean = 0;
    long failed = 0;
    SortedMap<String, Long> races = new TreeMap<>();
    SortedMap<Long, String> notClean = new TreeMap<>();
    for (Part p : parts) {
      ExploreResult r = p.result();
      runs += r.runs();
      clean += r.clean();
      failed += r.failed();
      r.races().forEach((race, seed) -> races.merge(race, seed, Math::min));
      notClean.putAll(r.notClean());
    }
    return new ExploreResult(
        a.driver(),
        a.variant(),
        a.scenario(),
        a.seeds(),
        Shard.ALL,
        Shard.ALL.slice(a.seeds()),
        runs,
        clean,
        failed,
        races,
        notClean);
  }

  private static ParameterException misfit(
      CommandLine cmd, Part p, String what, Part first, String firstWhat) {
    return new ParameterException(
        cmd,
        "the shards are not of one sweep: "
            + p.file()
            + " has "
            + what
            + ", "
            + first.file()
            + " has "
            + firstWhat);
  }
}
