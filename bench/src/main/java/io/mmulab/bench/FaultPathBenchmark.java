package io.mmulab.bench;

import io.mmulab.api.ErrnoException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
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
import org.openjdk.jmh.infra.IterationParams;

/**
 * Benchmark 4: one device page fault handled the consolidated way, on the simulated stack with the
 * real runtime (see {@link FaultPath}): {@code readBegin} → mmap read lock → {@code hmmRangeFault}
 * ({@code REQ_FAULT}, one page) → unlock → driver update lock → {@code readRetry} (start over on a
 * collision or an {@code EBUSY} walk) → program the {@code DeviceMmu} entry → unlock. The page is
 * picked round-robin over the {@value FaultPath#DEFAULT_PAGES} populated pages of the mapping.
 *
 * <ul>
 *   <li>{@link #faultAlone}: one thread, no invalidations (never retries). Score = ns per fault.
 *   <li>group {@code contended}: {@link #fault} in one thread against {@link #invalidate} in
 *       another, which {@code mprotect}s the whole mapping read-only and back read-write (one
 *       {@code mprotect} per operation, each a PROTECTION_VMA invalidation of every page under the
 *       mmap lock for write: the callback zaps and flushes the device entries), then sleeps {@code
 *       gapNs} (0: a tight loop). Scores = ns per successful fault ({@code contended:fault}) and ns
 *       per {@code mprotect} plus gap ({@code contended:invalidate}); the group score {@code
 *       contended} is their mean, meaningless.
 * </ul>
 *
 * <p>Retries: the aux counters {@code faults}, {@code retries} and {@code invalidations} (JMH
 * {@code EVENTS}: counts per iteration, summed over the measurement iterations in the result; the
 * ratio retries / faults is the retries per fault); every iteration also prints {@code [fault path
 * ...]} with its own ratio and its {@code EBUSY} walks.
 *
 * <p>Each trial builds a new fixture (machine, process, device, subscription) and closes it at the
 * end; the coherency checker must be clean at the end of each trial, or the teardown fails the
 * benchmark. The checker's and the simulated device's bookkeeping (an event string per reported
 * event, the translation maps) is part of every fault and every invalidation: it is the simulated
 * hardware, not the notifier.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class FaultPathBenchmark {

  /** The fixture and the round-robin page cursor; counts for the per-iteration report. */
  public abstract static class Fixture {
    FaultPath path;
    int next;
    long faults;
    long retries;
    long invalidations;
    private long busyAtStart;

    abstract String name();

    /** Builds a fresh fixture for the trial. */
    @Setup(Level.Trial)
    public void setUp() throws ErrnoException {
      path = new FaultPath(FaultPath.DEFAULT_PAGES);
      next = 0;
    }

    /** Resets the counts of the iteration. */
    @Setup(Level.Iteration)
    public void startIteration() {
      faults = 0;
      retries = 0;
      invalidations = 0;
      busyAtStart = path.busyWalks();
    }

    /**
     * Prints the retries per fault of the iteration.
     *
     * @param it the iteration, for its type
     */
    @TearDown(Level.Iteration)
    public void reportIteration(IterationParams it) {
      System.out.printf(
          "%n[fault path %s] %s: %d faults, %d retries (%.4f per fault, %d EBUSY walks), %d"
              + " invalidations%n",
          name(),
          it.getType(),
          faults,
          retries,
          faults == 0 ? 0.0 : (double) retries / faults,
          path.busyWalks() - busyAtStart,
          invalidations);
    }

    /** Checks the checker and closes the fixture. */
    @TearDown(Level.Trial)
    public void tearDown() {
      try {
        path.checker().assertClean();
      } finally {
        path.close();
      }
    }

    int fault() throws ErrnoException {
      int page = next;
      next = page + 1 == path.pages() ? 0 : page + 1;
      int r = path.fault(page);
      faults++;
      retries += r;
      return r;
    }
  }

  /** State of {@link #faultAlone}. */
  @State(Scope.Thread)
  public static class Alone extends Fixture {
    @Override
    String name() {
      return "alone";
    }
  }

  /** State of the {@code contended} group, shared by its two threads. */
  @State(Scope.Group)
  public static class Contended extends Fixture {
    /**
     * Pause of the invalidating thread after each {@code mprotect} ({@code LockSupport.parkNanos},
     * so the core is free meanwhile; the sleep is at least this long, plus the wake-up latency): 0
     * is a tight loop (the mmap lock is held for write much of the time), 100 µs a stream of at
     * most 10 thousand invalidations per second.
     */
    @Param({"0", "100000"})
    public long gapNs;

    @Override
    String name() {
      return "contended";
    }
  }

  /** Per-thread counts reported by JMH as secondary results. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Counters {
    /** Faults handled in the iteration. */
    public long faults;

    /** Restarts of those faults in the iteration. */
    public long retries;

    /** {@code mprotect} calls of the invalidating thread in the iteration. */
    public long invalidations;

    /** Resets the counts. */
    @Setup(Level.Iteration)
    public void reset() {
      faults = 0;
      retries = 0;
      invalidations = 0;
    }
  }

  /**
   * One device fault, no concurrent invalidation.
   *
   * @return its retries (always 0)
   */
  @Benchmark
  public int faultAlone(Alone s, Counters c) throws ErrnoException {
    int r = s.fault();
    c.faults++;
    c.retries += r;
    return r;
  }

  /**
   * One device fault while {@link #invalidate} runs.
   *
   * @return its retries
   */
  @Benchmark
  @Group("contended")
  @GroupThreads(1)
  public int fault(Contended s, Counters c) throws ErrnoException {
    int r = s.fault();
    c.faults++;
    c.retries += r;
    return r;
  }

  /**
   * One invalidation of the stream: {@code mprotect} of the mapping, read-only or read-write, then
   * a pause of {@code gapNs}.
   */
  @Benchmark
  @Group("contended")
  @GroupThreads(1)
  public void invalidate(Contended s, Counters c) throws ErrnoException {
    s.path.toggleProtection();
    s.invalidations++;
    c.invalidations++;
    if (s.gapNs > 0) {
      LockSupport.parkNanos(s.gapNs);
    }
  }
}
