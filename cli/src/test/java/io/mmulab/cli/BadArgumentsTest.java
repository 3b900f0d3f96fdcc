package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Every bad argument: exit 2, one line on stderr naming what is valid, no stack trace. */
class BadArgumentsTest {
  private static final String[] TARGET = {
    "--driver", "dmirror", "--variant", "legacy", "--scenario", "munmap-vs-fault"
  };

  private static Cli explore(String... more) {
    String[] args = new String[1 + TARGET.length + more.length];
    args[0] = "explore";
    System.arraycopy(TARGET, 0, args, 1, TARGET.length);
    System.arraycopy(more, 0, args, 1 + TARGET.length, more.length);
    return Cli.run(args);
  }

  private static void assertUsageError(Cli r, String... expected) {
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
        Cli.run("bogus"), "unknown command 'bogus'; commands: run, explore, replay, drivers, help");
    assertUsageError(Cli.run("run", "--jobs", "0"), "--jobs must be at least 1");
  }

  @Test
  void help_printsUsage_andExitsZero() {
    Cli r = Cli.run("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("Usage: mmulab", "run", "explore", "replay", "drivers");
  }
}
