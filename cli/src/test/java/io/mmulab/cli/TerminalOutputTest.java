package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What stderr looks like on a terminal and elsewhere. */
class TerminalOutputTest {
  private static final String[] EXPLORE = {
    "explore",
    "--driver",
    "dmirror",
    "--variant",
    "consolidated",
    "--scenario",
    "munmap-vs-fault",
    "--seeds",
    "1..3",
    "--jobs",
    "1"
  };

  @Test
  void progress_notATerminal_isPlainLines() {
    Cli r = Cli.runOn(false, EXPLORE);

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.err()).doesNotContain("\r", "\u001b").endsWith(System.lineSeparator());
    assertThat(r.err().lines()).last().asString().startsWith("3 runs in ");
    assertThat(r.err().lines())
        .allSatisfy(l -> assertThat(l).matches("\\[\\s*\\d+%] \\d+/3 runs, .*|3 runs in .*"));
  }

  @Test
  void progress_onATerminal_isRewrittenInPlace() {
    Cli r = Cli.runOn(true, EXPLORE);

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.err()).startsWith("\r[").contains("\r3 runs in ");
  }

  @Test
  void help_hasColourCodesOnlyOnATerminal() {
    String before = System.getProperty("picocli.ansi");
    System.setProperty("picocli.ansi", "true"); // picocli's automatic colours: as on a tty
    try {
      assertThat(Cli.runOn(true, "replay", "--help").out()).contains("\u001b[");
      Cli plain = Cli.runOn(false, "replay", "--help");
      assertThat(plain.code()).isZero();
      assertThat(plain.out()).contains("Usage: mmulab replay").doesNotContain("\u001b");
    } finally {
      if (before == null) {
        System.clearProperty("picocli.ansi");
      } else {
        System.setProperty("picocli.ansi", before);
      }
    }
  }
}
