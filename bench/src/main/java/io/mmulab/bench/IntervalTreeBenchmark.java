package io.mmulab.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Benchmark 2: {@link io.mmulab.core.IntervalTree} under the kernel's own tree benchmark, {@code
 * lib/interval_tree_test.c} ({@code docs/notifier.md}), with its parameter names and defaults and
 * its generator ({@link Lfsr113}), so the data set and the hit counts are the kernel's.
 *
 * <ul>
 *   <li>{@link #basicCheck}: one {@code basic_check} round per operation: insert all {@code nnodes}
 *       nodes, then remove all. Score = ns per round.
 *   <li>{@link #searchCheck}: one {@code search_check} round per operation: {@code nsearches}
 *       stabbing queries counted with first/next over the full tree. Score = ns per round; the hits
 *       per round (the kernel's "results") are printed at the end of the trial.
 *   <li>{@link #searchFirst}: the same queries, {@code iter_first} only: the descent, which is the
 *       tree's own cost and grows as log N; the full search also pays one step per hit, and with
 *       the kernel's data set the hits per query grow linearly with {@code nnodes}.
 * </ul>
 *
 * <p>The kernel's {@code perf_loops} and {@code search_loops} are JMH's operation count here (one
 * operation is one loop); {@link IntervalTreeCheck#main} replays the module with them. As in the
 * module, the generator is seeded once and {@code basic_check} and {@code search_check} each call
 * {@code init()}, so the search runs on the second data set drawn from the stream.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class IntervalTreeBenchmark {
  // Parameter names are the kernel module's, underscores included, so that "-p max_endpoint=..."
  // reads like the module's command line.

  /** Number of nodes in the tree. */
  @Param({"100", "1000", "10000", "100000", "1000000"})
  public int nnodes;

  /** Queries per search round. */
  @Param({"100"})
  public int nsearches;

  /** Whether every query is {@code [0, max_endpoint]}. */
  @Param({"false"})
  public boolean search_all;

  /** Unsigned 32-bit bound of the endpoints. */
  @Param({"4294967295"})
  public long max_endpoint;

  /** Generator seed. */
  @Param({"3141592653589793238"})
  public long seed;

  private IntervalTreeCheck check;
  private String benchmark;
  private long lastResult = -1;

  /** Builds the data set of the benchmarked kernel check. */
  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) {
    if (max_endpoint < 0 || max_endpoint > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("max_endpoint is an unsigned 32-bit value");
    }
    benchmark = params.getBenchmark();
    check = new IntervalTreeCheck(nnodes, nsearches, search_all, (int) max_endpoint, seed);
    check.init(); // basic_check's init()
    if (!benchmark.endsWith(".basicCheck")) {
      check.init(); // search_check's init(): the next draws of the same stream
      check.insertAll();
    }
  }

  /** Prints the hits per round, the figure the kernel prints beside the search time. */
  @TearDown(Level.Trial)
  public void report() {
    if (benchmark.endsWith(".searchCheck")) {
      System.out.printf(
          "%n[interval tree search] nnodes=%d nsearches=%d search_all=%b -> %d results per round%n",
          nnodes, nsearches, search_all, lastResult);
    } else if (benchmark.endsWith(".searchFirst")) {
      System.out.printf(
          "%n[interval tree search, first hit only] nnodes=%d nsearches=%d -> %d of %d queries hit,"
              + " tree height bound 2*log2(n+1) = %.1f%n",
          nnodes, nsearches, lastResult, nsearches, 2 * Math.log(nnodes + 1.0) / Math.log(2));
    }
  }

  /** One {@code basic_check} loop: insert all nodes, remove all nodes. */
  @Benchmark
  public void basicCheck() {
    check.basicRound();
  }

  /**
   * One {@code search_check} loop.
   *
   * @return the hits of the round
   */
  @Benchmark
  public long searchCheck() {
    long hits = check.searchRound();
    lastResult = hits;
    return hits;
  }

  /**
   * One loop of first-hit lookups.
   *
   * @return the number of queries with a hit
   */
  @Benchmark
  public long searchFirst() {
    long found = check.firstRound();
    lastResult = found;
    return found;
  }
}
