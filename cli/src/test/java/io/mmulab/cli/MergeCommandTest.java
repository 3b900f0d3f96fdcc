package io.mmulab.cli;

import static io.mmulab.cli.BadArgumentsTest.assertUsageError;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MergeCommandTest {
  @TempDir Path tmp;

  private static Cli explore(String variant, String scenario, String seeds, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "explore",
                "--driver",
                "dmirror",
                "--variant",
                variant,
                "--scenario",
                scenario,
                "--seeds",
                seeds));
    args.addAll(List.of(more));
    return Cli.run(args.toArray(String[]::new));
  }

  /** Runs one shard with {@code --json} and saves what it printed. */
  private Path shard(String variant, String scenario, String seeds, String shard)
      throws IOException {
    Cli r = explore(variant, scenario, seeds, "--shard", shard, "--json");
    assertThat(r.code()).as(r.err()).isZero();
    return Files.writeString(
        tmp.resolve(variant + "-" + scenario + "-" + seeds + "-" + shard.replace("/", "of")),
        r.out());
  }

  private Path clean(String seeds, String shard) throws IOException {
    return shard("consolidated", "munmap-vs-fault", seeds, shard);
  }

  private static Cli merge(Object... files) {
    String[] args = new String[files.length + 1];
    args[0] = "merge";
    for (int i = 0; i < files.length; i++) {
      args[i + 1] = files[i].toString();
    }
    return Cli.run(args);
  }

  @Test
  void merge_ofEveryShard_isExactlyTheUnshardedResult_textAndJson() throws IOException {
    Cli.Race race = Cli.dmirrorRace();
    String seeds = "1.." + Math.max(race.seed() + 4, 9);
    Path s1 = shard("legacy", race.scenario(), seeds, "1/3");
    Path s2 = shard("legacy", race.scenario(), seeds, "2/3");
    Path s3 = shard("legacy", race.scenario(), seeds, "3/3");
    Cli whole = explore("legacy", race.scenario(), seeds);
    Cli wholeJson = explore("legacy", race.scenario(), seeds, "--json");

    Cli merged = merge(s3, s1, s2);
    Cli mergedJson = merge(s2, s3, s1, "--json");

    assertThat(whole.out()).contains("seed " + race.seed() + ": declared race ");
    assertThat(merged.out()).isEqualTo(whole.out());
    assertThat(merged.code()).isEqualTo(whole.code()).isZero();
    assertThat(mergedJson.out()).isEqualTo(wholeJson.out());
    assertThat(mergedJson.err()).isEmpty();
  }

  @Test
  void merge_keepsTheExitCodeOfAFailedSweep() throws IOException {
    Cli.Race race = Cli.dmirrorRace();
    List<Path> parts = new ArrayList<>();
    for (int i = 1; i <= 2; i++) {
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
              race.seed() + ".." + (race.seed() + 1),
              "--shard",
              i + "/2",
              "--json");
      parts.add(Files.writeString(tmp.resolve("broken-" + i), r.out()));
    }

    Cli merged = merge(parts.toArray());

    assertThat(merged.code()).isEqualTo(1);
    assertThat(merged.out()).contains("seed " + race.seed() + ": UNDECLARED: ");
  }

  @Test
  void missingOrDuplicateShard_isRefused() throws IOException {
    Path s1 = clean("1..6", "1/3");
    Path s2 = clean("1..6", "2/3");
    Path s3 = clean("1..6", "3/3");

    assertUsageError(
        merge(s1, s3),
        "missing shard 2/3 of the sweep dmirror/consolidated munmap-vs-fault, seeds 1..6");
    assertUsageError(merge(s2), "missing shards 1/3, 3/3 of the sweep");
    assertUsageError(merge(s1, s2, s3, s2), "shard 2/3 is given twice: " + s2 + " and " + s2);
  }

  @Test
  void shardsOfAnotherSweep_areRefused() throws IOException {
    Path s1 = clean("1..6", "1/3");
    Path s3 = clean("1..6", "3/3");
    String notOne = "the shards are not of one sweep: ";

    assertUsageError(
        merge(s1, shard("legacy", "munmap-vs-fault", "1..6", "2/3"), s3),
        notOne,
        "has dmirror/legacy munmap-vs-fault, " + s1 + " has dmirror/consolidated munmap-vs-fault");
    assertUsageError(
        merge(s1, shard("consolidated", "fork-cow-writable", "1..6", "2/3"), s3),
        notOne,
        "has dmirror/consolidated fork-cow-writable");
    assertUsageError(
        merge(s1, clean("1..7", "2/3"), s3), notOne, "has seeds 1..7, " + s1 + " has seeds 1..6");
    assertUsageError(
        merge(s1, clean("1..6", "2/4"), s3), notOne, "has shard 2/4, " + s1 + " has shard 1/3");
  }

  @Test
  void filesThatAreNotExploreJson_areRefused() throws IOException {
    Path s1 = clean("1..6", "1/2");
    Path text =
        Files.writeString(
            tmp.resolve("text"), explore("consolidated", "munmap-vs-fault", "4..6").out());
    Path cut =
        Files.writeString(
            tmp.resolve("cut"), Files.readString(s1).replace("\"runs\": 3", "\"runs\": 2"));
    Path truncated =
        Files.writeString(tmp.resolve("truncated"), Files.readString(s1).substring(0, 40));

    assertUsageError(
        merge(s1, text), text + " is not the output of explore --json: bad JSON at offset 0");
    assertUsageError(
        merge(cut),
        cut + " is not the output of explore --json: 2 runs for the 3 seed(s) of shard 1/2");
    assertUsageError(
        merge(truncated), truncated + " is not the output of explore --json: bad JSON");
    assertUsageError(merge(tmp.resolve("nope")), "cannot read " + tmp.resolve("nope"));
    assertUsageError(merge(tmp), "cannot read " + tmp);
    assertUsageError(Cli.run("merge"), "Missing required parameter");
  }

  @Test
  void scaleOutDoc_showsWhatMergePrints() throws IOException {
    String doc = Files.readString(Path.of("..", "docs", "scale-out.md"));
    Path s1 = shard("legacy", "munmap-vs-fault", "1..30", "1/3");
    Path s2 = shard("legacy", "munmap-vs-fault", "1..30", "2/3");
    Path s3 = shard("legacy", "munmap-vs-fault", "1..30", "3/3");

    String merged = merge(s1, s2, s3).out().replace(System.lineSeparator(), "\n");
    String missing = merge(s1, s3).err().strip();

    assertThat(doc)
        .contains("merge shard-1.json shard-2.json shard-3.json\n" + merged)
        .contains("merge shard-1.json shard-3.json\n" + missing + "\n");
  }
}
