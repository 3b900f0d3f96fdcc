package io.mmulab.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class IntervalTreeCheckTest {

  /** Advances past basic_check's init() to search_check's data set, as the kernel module does. */
  private static IntervalTreeCheck searchDataSet(int nnodes) {
    IntervalTreeCheck check =
        new IntervalTreeCheck(
            nnodes,
            IntervalTreeCheck.DEFAULT_NSEARCHES,
            false,
            IntervalTreeCheck.DEFAULT_MAX_ENDPOINT,
            IntervalTreeCheck.DEFAULT_SEED);
    check.init();
    check.init();
    check.insertAll();
    return check;
  }

  @Test
  void searchRound_kernelDefaults_hitsEqualBruteForceAndTheKernelCount() {
    IntervalTreeCheck check = searchDataSet(IntervalTreeCheck.DEFAULT_NNODES);

    long hits = check.searchRound();

    assertThat(hits).isEqualTo(check.bruteForceSearchRound());
    // The same count from the separate C reference (gcc, unsigned 32-bit arithmetic).
    assertThat(hits).isEqualTo(2768);
    assertThat(check.searchRound()).as("every round is the same").isEqualTo(hits);
  }

  @Test
  void searchRound_thousandNodes_hitsEqualBruteForceAndTheKernelCount() {
    IntervalTreeCheck check = searchDataSet(1000);

    assertThat(check.searchRound()).isEqualTo(check.bruteForceSearchRound()).isEqualTo(28560);
  }

  @Test
  void init_secondDataSet_startsWhereTheKernelStreamIs() {
    IntervalTreeCheck check = searchDataSet(IntervalTreeCheck.DEFAULT_NNODES);

    assertThat(check.node(0).start()).isEqualTo(60418519L);
    assertThat(check.node(0).last()).isEqualTo(68006298L);
    assertThat(check.query(0)).isEqualTo(30476058L);
  }

  @Test
  void searchAll_everyQuerySeesEveryNode() {
    IntervalTreeCheck check =
        new IntervalTreeCheck(
            50, 10, true, IntervalTreeCheck.DEFAULT_MAX_ENDPOINT, IntervalTreeCheck.DEFAULT_SEED);
    check.init();
    check.insertAll();

    assertThat(check.searchRound()).isEqualTo(500).isEqualTo(check.bruteForceSearchRound());
  }

  @Test
  void firstRound_countsQueriesWithAHit() {
    IntervalTreeCheck check = searchDataSet(1000);
    long expected = 0;
    for (int j = 0; j < IntervalTreeCheck.DEFAULT_NSEARCHES; j++) {
      if (check.search(check.query(j), check.query(j)) > 0) {
        expected++;
      }
    }

    assertThat(check.firstRound()).isEqualTo(expected).isPositive();
  }

  @Test
  void basicRound_leavesTheTreeEmptyAndValid() {
    IntervalTreeCheck check = IntervalTreeCheck.withDefaults();
    check.init();

    check.insertAll();
    check.tree().checkInvariants();
    assertThat(check.tree().size()).isEqualTo(IntervalTreeCheck.DEFAULT_NNODES);
    check.removeAll();
    check.basicRound();

    assertThat(check.tree().isEmpty()).isTrue();
    check.tree().checkInvariants();
  }

  @Test
  void intersectionRound_iteratorAgreesWithScan() {
    IntervalTreeCheck check = IntervalTreeCheck.withDefaults();

    for (int i = 0; i < 50; i++) {
      assertThat(check.intersectionRound()).isZero();
    }
  }

  @Test
  void init_zeroLast_failsLikeTheKernelDivisionByZero() {
    // max_endpoint = 1 makes every last 0, and the kernel then computes start = rand % 0.
    IntervalTreeCheck check = new IntervalTreeCheck(1, 1, false, 1, IntervalTreeCheck.DEFAULT_SEED);

    assertThatThrownBy(check::init).isInstanceOf(ArithmeticException.class);
  }

  @Test
  void runModule_printsTheKernelLinesWithResults() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    IntervalTreeCheck.withDefaults()
        .runModule(3, 2, new PrintStream(bytes, true, StandardCharsets.UTF_8));

    String out = bytes.toString(StandardCharsets.UTF_8);
    assertThat(out)
        .contains("interval tree insert/remove -> ")
        .contains("interval tree search -> ")
        .contains("(2768 results)")
        .contains("interval tree iteration")
        .doesNotContain("WARNING");
  }

  @Test
  void warmUp_saysSo_andLeavesTheTimedTreeOnTheKernelStream() {
    IntervalTreeCheck timed = IntervalTreeCheck.withDefaults();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    IntervalTreeCheck.warmUp(
        2, timed, 10, 10, new PrintStream(bytes, true, StandardCharsets.UTF_8));

    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .startsWith("warm-up: 2 passes of the same loops on a separate tree before timing");
    timed.init();
    timed.init();
    assertThat(timed.node(0).start()).as("the kernel's second data set").isEqualTo(60418519L);
  }

  @Test
  void warmUp_zeroPasses_saysTheTimesAreCold() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    IntervalTreeCheck.warmUp(
        0,
        IntervalTreeCheck.withDefaults(),
        10,
        10,
        new PrintStream(bytes, true, StandardCharsets.UTF_8));

    assertThat(bytes.toString(StandardCharsets.UTF_8)).contains("include JIT compilation");
  }
}
