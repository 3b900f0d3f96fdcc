package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressTest {
  @Test
  void terminal_printsAtMostFiveTimesASecond_rewritingOneLine_andFinishEndsIt() {
    StringWriter sw = new StringWriter();
    AtomicLong now = new AtomicLong(1_000_000_000L);
    Progress p = new Progress(new PrintWriter(sw), 10, now::get, true);
    p.update(1, "a/legacy s1");
    p.update(2, "a/legacy s1"); // too soon
    now.addAndGet(2_500_000_000L);
    p.update(5, "b/consolidated s2");
    p.update(10, "b/consolidated s2"); // the last one always prints
    p.finish("done");
    assertThat(sw.toString())
        .isEqualTo(
            "\r[ 10%] 1/10 runs, 0s  a/legacy s1"
                + "\r[ 50%] 5/10 runs, 2s  b/consolidated s2"
                + "\r[100%] 10/10 runs, 2s  b/consolidated s2"
                + "\r10 runs in 2s: done                     "
                + System.lineSeparator());
  }

  @Test
  void notATerminal_printsWholeLinesAtEachNewTenthOrEveryFiveSeconds_neverACarriageReturn() {
    StringWriter sw = new StringWriter();
    AtomicLong now = new AtomicLong(1_000_000_000L);
    Progress p = new Progress(new PrintWriter(sw), 100, now::get, false);
    p.update(5, "a s1"); // same tenth, too soon
    p.update(10, "a s2");
    p.update(19, "a s3"); // same tenth, too soon
    now.addAndGet(4_000_000_000L);
    p.update(20, "a s4");
    p.update(25, "a s5"); // same tenth, 0 s since the last line
    now.addAndGet(5_000_000_000L);
    p.update(26, "a s6"); // same tenth, but 5 s since the last line
    p.update(100, "b s7");
    p.finish("done");
    String n = System.lineSeparator();
    assertThat(sw.toString())
        .doesNotContain("\r")
        .isEqualTo(
            "[ 10%] 10/100 runs, 0s  a s2"
                + n
                + "[ 20%] 20/100 runs, 4s  a s4"
                + n
                + "[ 26%] 26/100 runs, 9s  a s6"
                + n
                + "[100%] 100/100 runs, 9s  b s7"
                + n
                + "100 runs in 9s: done"
                + n);
  }
}
