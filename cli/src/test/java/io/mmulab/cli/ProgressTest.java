package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressTest {
  @Test
  void update_printsAtMostFiveTimesASecond_rewritingOneLine_andFinishEndsIt() {
    StringWriter sw = new StringWriter();
    AtomicLong now = new AtomicLong(1_000_000_000L);
    Progress p = new Progress(new PrintWriter(sw), 10, now::get);
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
}
