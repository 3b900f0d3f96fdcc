package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every bad argument: exit 2, one line on stderr naming what is valid, no stack trace. */
class BadArgumentsTest {
  private static final String[] TARGET = {
    "--driver", "dmirror", "--variant", "legacy", "--scenario", "munmap-vs-fault"
  };

  @TempDir Path tmp;

  private static Cli replayTo(String html) {
    return Cli.run(
        "replay",
        "--driver",
        "dmirror",
        "--variant",
        "legacy",
        "--scenario",
        "munmap-vs-fault",
        "--seed",
        "1",
        "--html",
        html);
  }

  /** A run small enough to finish fast if the report directory were only checked after it. */
  private static Cli runTo(String report) {
    return Cli.run(
        "run",
        "--drivers",
        "dmirror",
        "--scenarios",
        "munmap-vs-fault",
        "--seeds",
        "1",
        "--race-seeds",
        "1",
        "--load-seconds",
        "0",
        "--report",
        report);
  }

  private static Cli explore(String... more) {
    String[] args = new String[1 + TARGET.length + more.length];
    args[0] = "explore";
    System.arraycopy(TARGET, 0, args, 1, TARGET.length);
    System.arraycopy(more, 0, args, 1 + TARGET.length, more.length);
    return Cli.run(args);
  }

  static void assertUsageError(Cli r, String... expected) {
    assertThat(r.code()).as(r.err()).isEqualTo(2);
    assertThat(r.out()).isEmpty();
    assertThat(r.err().lines()).hasSize(1);
    assertThat(r.err()).startsWith("mmulab: ").contains(expected);
    assertThat(r.err()).doesNotContain("Exception", "\tat ");
  }

  @Test
  void unknownDriver_namesTheKnownDrivers() {
    assertUsageError(
        Cli.run(
            "replay", "--driver", "nope", "--variant", "legacy", "--scenario", "x", "--seed", "1"),
        "unknown driver 'nope'",
        "known drivers: ",
        "dmirror");
    assertUsageError(
        Cli.run("run", "--drivers", "dmirror,nope"), "unknown driver 'nope'", "dmirror");
  }

  @Test
  void unknownVariant_namesTheDriversVariants() {
    assertUsageError(
        Cli.run(
            "explore",
            "--driver",
            "dmirror",
            "--variant",
            "as-merged",
            "--scenario",
            "munmap-vs-fault",
            "--seeds",
            "1..2"),
        "unknown variant 'as-merged' of driver dmirror; its variants: legacy, consolidated");
  }

  @Test
  void unknownScenario_namesTheKnownScenarios() {
    assertUsageError(
        Cli.run(
            "explore",
            "--driver",
            "dmirror",
            "--variant",
            "legacy",
            "--scenario",
            "nope",
            "--seeds",
            "1..2"),
        "unknown scenario 'nope'; known scenarios: munmap-vs-fault, ");
    assertUsageError(Cli.run("run", "--scenarios", "nope"), "unknown scenario 'nope'");
  }

  @Test
  void reversedSeedRange_isRejected() {
    assertUsageError(
        explore("--seeds", "5..2"),
        "invalid seed range '5..2': the first seed 5 is after the last 2");
  }

  @Test
  void malformedSeedRange_isRejected() {
    assertUsageError(explore("--seeds", "x..y"), "invalid seed range 'x..y': expected A..B");
    assertUsageError(Cli.run("run", "--seeds", "0"), "invalid seed budget '0'");
    assertUsageError(
        Cli.run(
            "replay",
            "--driver",
            "dmirror",
            "--variant",
            "legacy",
            "--scenario",
            "munmap-vs-fault",
            "--seed",
            "1..3"),
        "--seed takes one seed");
  }

  @Test
  void seedAboveTheLargest_namesTheLargestSeedAccepted() {
    String largest = "the largest seed accepted is 999999999999999999";
    assertUsageError(
        explore("--seeds", "1..1234567890123456789"),
        "invalid seed range '1..1234567890123456789': the seed 1234567890123456789 is too large",
        largest);
    assertUsageError(explore("--seeds", "99999999999999999999999..1"), largest);
    assertUsageError(
        Cli.run(
            "replay",
            "--driver",
            "dmirror",
            "--variant",
            "legacy",
            "--scenario",
            "munmap-vs-fault",
            "--seed",
            "9223372036854775807"),
        largest);
    assertUsageError(Cli.run("run", "--seeds", "1000000000000000000"), largest);
    assertUsageError(
        Cli.run("run", "--race-seeds", "1000000000000000000"),
        "--race-seeds must be in 1..999999999999999999");
  }

  @Test
  void replayHtml_thatCannotBeWritten_isRefusedBeforeTheReplay() throws IOException {
    Path file = Files.writeString(tmp.resolve("file"), "keep");
    assertUsageError(
        replayTo(tmp.toString()), "cannot write --html '" + tmp + "': it is a directory");
    assertUsageError(
        replayTo(file.resolve("t.html").toString()),
        "cannot write --html '" + file.resolve("t.html") + "': " + file + " is not a directory");
    assertUsageError(
        replayTo(file.resolve("sub/t.html").toString()),
        "cannot write --html '" + file.resolve("sub/t.html") + "': cannot create the directory");
    assertUsageError(
        replayTo("/proc/mmulab-nope/t.html"), "cannot write --html '/proc/mmulab-nope");
    assertUsageError(replayTo("/proc/mmulab-t.html"), "cannot write --html '/proc/mmulab-t.html'");
    assertThat(file).hasContent("keep");
  }

  @Test
  void runReport_thatCannotBeWritten_isRefusedBeforeTheSweep() throws IOException {
    Path file = Files.writeString(tmp.resolve("file"), "keep");
    Files.createDirectories(tmp.resolve("taken/index.html"));
    assertUsageError(
        runTo(file.toString()), "cannot write --report '" + file + "': it is not a directory");
    assertUsageError(
        runTo(file.resolve("sub/report").toString()),
        "cannot write --report '" + file.resolve("sub/report") + "': cannot create it");
    assertUsageError(
        runTo(tmp.resolve("taken").toString()),
        "cannot write --report '" + tmp.resolve("taken") + "': ",
        "index.html is a directory");
    assertUsageError(runTo("/proc/mmulab-report"), "cannot write --report '/proc/mmulab-report'");
    assertUsageError(runTo("/proc"), "cannot write --report '/proc'");
    assertThat(file).hasContent("keep");
  }

  @Test
  void badShard_isRejected() {
    assertUsageError(
        explore("--seeds", "1..9", "--shard", "3/2"),
        "invalid shard '3/2': expected i/n with 1 <= i <= n");
  }

  @Test
  void missingOption_unknownOption_unknownCommand() {
    assertUsageError(explore(), "Missing required option: '--seeds=A..B'");
    assertUsageError(Cli.run("drivers", "--bogus"), "Unknown option: '--bogus'");
    assertUsageError(
        Cli.run("bogus"),
        "unknown command 'bogus'; commands: run, explore, replay, merge, drivers, help");
    assertUsageError(Cli.run("run", "--jobs", "0"), "--jobs must be at least 1");
  }

  @Test
  void help_printsUsage_andExitsZero() {
    Cli r = Cli.run("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("Usage: mmulab", "run", "explore", "replay", "drivers");
  }
}
