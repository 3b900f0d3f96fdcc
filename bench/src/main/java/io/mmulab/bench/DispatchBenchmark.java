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

/**
 * Benchmark 3: one invalidation (start + end of a small range) with {@code n} subscriptions spread
 * over {@code drivers} drivers, delivered three ways (see {@link DispatchShapes}): the consolidated
 * core ({@link #consolidated}), every driver's classic notifier scanning a linear list ({@link
 * #legacyList}), and every driver's classic notifier searching its own interval tree ({@link
 * #legacyTrees}). All three use the same {@link DispatchLayout}: same ranges, same drivers, same
 * seeded sequence of invalidations. Score = ns per invalidation.
 *
 * <p>Each benchmark method has its own state, so a fork builds only the shape it measures.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class DispatchBenchmark {

  /** Parameters common to the three shapes. */
  @State(Scope.Thread)
  public abstract static class Base {
    /** Number of subscriptions. */
    @Param({"100", "1000", "10000", "100000", "1000000"})
    public int n;

    /** Number of drivers owning them. */
    @Param({"1", "8"})
    public int drivers;

    /** Seed of the layout and of the invalidation sequence. */
    @Param({"20191112"})
    public long seed;

    DispatchShapes.Shape shape;
    int next;
    private long expectedHitsPerCycle;
    private long hitsAtStart;
    private int opsAtStart;

    abstract DispatchShapes.Shape build(DispatchLayout layout);

    abstract String shapeName();

    /** Builds the layout and the shape. */
    @Setup(Level.Trial)
    public void setUp() {
      DispatchLayout layout = DispatchLayout.create(n, drivers, seed);
      shape = build(layout);
      expectedHitsPerCycle = 0;
      if (n <= 10_000) {
        for (int k = 0; k < DispatchLayout.INVALIDATIONS; k++) {
          expectedHitsPerCycle += layout.expectedHits(k);
        }
      }
      hitsAtStart = shape.hits();
      opsAtStart = next;
    }

    /** Prints the hits per invalidation, the same for the three shapes. */
    @TearDown(Level.Trial)
    public void report() {
      long ops = next - opsAtStart;
      long hits = shape.hits() - hitsAtStart;
      System.out.printf(
          "%n[dispatch %s] n=%d drivers=%d -> %.3f ranges hit per invalidation over %d"
              + " invalidations%s%n",
          shapeName(),
          n,
          drivers,
          ops == 0 ? 0.0 : (double) hits / ops,
          ops,
          expectedHitsPerCycle == 0
              ? ""
              : String.format(
                  " (layout: %.3f)", (double) expectedHitsPerCycle / DispatchLayout.INVALIDATIONS));
    }
  }

  /** State of {@link #consolidated}. */
  public static class Consolidated extends Base {
    @Override
    DispatchShapes.Shape build(DispatchLayout layout) {
      return new DispatchShapes.Consolidated(layout);
    }

    @Override
    String shapeName() {
      return "consolidated";
    }
  }

  /** State of {@link #legacyList}. */
  public static class LegacyList extends Base {
    @Override
    DispatchShapes.Shape build(DispatchLayout layout) {
      return new DispatchShapes.LegacyList(layout);
    }

    @Override
    String shapeName() {
      return "legacyList";
    }
  }

  /** State of {@link #legacyTrees}. */
  public static class LegacyTrees extends Base {
    @Override
    DispatchShapes.Shape build(DispatchLayout layout) {
      return new DispatchShapes.LegacyTrees(layout);
    }

    @Override
    String shapeName() {
      return "legacyTrees";
    }
  }

  /** The core: one tree, callbacks only for the subscriptions hit. */
  @Benchmark
  public void consolidated(Consolidated s) {
    s.shape.invalidate(s.next++);
  }

  /** Legacy (a): every driver's classic notifier scans its list. */
  @Benchmark
  public void legacyList(LegacyList s) {
    s.shape.invalidate(s.next++);
  }

  /** Legacy (b): every driver's classic notifier searches its own tree. */
  @Benchmark
  public void legacyTrees(LegacyTrees s) {
    s.shape.invalidate(s.next++);
  }
}
