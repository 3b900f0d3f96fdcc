package io.mmulab.bench;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
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
 * Benchmark 5: retained bytes per interval subscription and per bare tree node at {@code n} = 10^6
 * members, measured with JOL (see {@link Footprint}). Each operation is one JOL walk of the whole
 * graph (single shot); its time is incidental. The figures are printed at the end of the trial
 * ({@code [footprint] ...}); they are deterministic, so one walk suffices. (A JMH {@code
 * AuxCounters} EVENTS counter would be summed over the iterations, hence the printout.)
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 0)
@Measurement(iterations = 1)
// JOL attaches its own agent to read object sizes; JDK 21+ warn about that unless dynamic agent
// loading is enabled, a flag JDK 17 does not know (hence IgnoreUnrecognizedVMOptions).
@Fork(
    value = 1,
    jvmArgsAppend = {
      "-Xms3g",
      "-Xmx3g",
      "-Djdk.attach.allowAttachSelf=true",
      "-XX:+IgnoreUnrecognizedVMOptions",
      "-XX:+EnableDynamicAgentLoading"
    })
public class FootprintBenchmark {

  /** The graphs to measure. */
  @State(Scope.Benchmark)
  public static class Graphs {
    /** Members of the full graph. */
    @Param({"1000000"})
    public int n;

    /** Drivers owning the subscriptions (fixed cost, cancels out). */
    @Param({"8"})
    public int drivers;

    DispatchShapes.@Nullable Consolidated subscriptions; // the per-subscription benchmark's
    @Nullable IntervalTreeCheck tree; // the per-node benchmark's
    String benchmark;
    Footprint.@Nullable Result last;

    /** Builds the full graph of the benchmark being run. */
    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) {
      benchmark = params.getBenchmark();
      if (benchmark.endsWith(".perSubscription")) {
        subscriptions =
            new DispatchShapes.Consolidated(
                DispatchLayout.create(n, drivers, DispatchLayout.DEFAULT_SEED));
      } else {
        tree =
            new IntervalTreeCheck(
                n,
                0,
                false,
                IntervalTreeCheck.DEFAULT_MAX_ENDPOINT,
                IntervalTreeCheck.DEFAULT_SEED);
        tree.init();
      }
    }

    /** Prints the measured figure. */
    @TearDown(Level.Trial)
    public void report() {
      if (last == null) {
        return;
      }
      if (subscriptions != null) {
        System.out.printf(
            "%n[footprint] retained bytes per subscription at n=%d: %.2f (shallow %d; target <= 96)"
                + "%n",
            last.n(), last.perMember(), Footprint.subscriptionShallowSize());
      } else {
        System.out.printf(
            "%n[footprint] retained bytes per tree node at n=%d: %.2f (shallow %d)%n",
            last.n(), last.perMember(), Footprint.treeNodeShallowSize());
      }
    }
  }

  /**
   * Walks the address space with {@code n} subscriptions (and an empty one).
   *
   * @return the retained bytes of the full graph
   */
  @Benchmark
  public long perSubscription(Graphs g) {
    g.last = Footprint.subscriptions(Objects.requireNonNull(g.subscriptions, "set up"));
    return g.last.fullBytes();
  }

  /**
   * Walks the tree with {@code n} bare nodes (and empty).
   *
   * @return the retained bytes of the full tree
   */
  @Benchmark
  public long perTreeNode(Graphs g) {
    g.last = Footprint.treeNodes(Objects.requireNonNull(g.tree, "set up"));
    return g.last.fullBytes();
  }
}
