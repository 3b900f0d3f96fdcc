package io.mmulab.bench;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.core.MmStruct;
import io.mmulab.core.sync.RealSyncRuntime;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 1: the driver's read side of the collision-retry pattern with no contention, against
 * its floor measured in the same run.
 *
 * <ul>
 *   <li>{@link #readSide}: {@code readBegin}; driver update lock; {@code readRetry}; unlock — what
 *       a driver fault does around its page lookup, minus the lookup.
 *   <li>{@link #floor}: the same update lock and unlock plus two volatile reads: the least any
 *       sequence-count read side can cost (one read of the sequence before, one under the lock).
 *   <li>{@link #floorPlusSpinLock}: the floor plus one uncontended lock/unlock of a spin lock of
 *       the same runtime. {@code readBegin} takes the container's spin lock (as the kernel's {@code
 *       mmu_interval_read_begin} takes {@code subscriptions->lock}), so this shows how much of the
 *       gap to the floor is that lock.
 * </ul>
 *
 * <p>All locks come from {@link RealSyncRuntime}, so every lock pair includes its lockdep
 * bookkeeping in all three and the comparison isolates the notifier's own cost. Single thread.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class ReadSideBenchmark {
  /** Stand-ins for the two sequence words a read side reads. */
  static final class SeqWords {
    volatile long containerSeq = 2;
    volatile long subscriptionSeq = 1;
  }

  private MmStruct mm;
  private Mutex update;
  private SpinLock spin;
  private MmuIntervalNotifier sub;
  private SeqWords words;

  /** Creates one address space with one subscription whose update lock is the driver's mutex. */
  @Setup(Level.Trial)
  public void setUp() throws ErrnoException {
    RealSyncRuntime runtime = RealSyncRuntime.get();
    mm = new MmStruct(runtime);
    update = runtime.newMutex("driver.update");
    spin = runtime.newSpinLock("bench.spin");
    words = new SeqWords();
    sub =
        mm.insertIntervalNotifier(
            0x7f00_0000_0000L,
            1 << 21,
            (s, range, curSeq) -> {
              update.lock();
              s.setSeq(curSeq);
              update.unlock();
              return true;
            },
            update);
  }

  /** Removes the subscription. */
  @TearDown(Level.Trial)
  public void tearDown() {
    sub.remove();
  }

  /**
   * The read side: {@code readBegin}, lock, {@code readRetry}, unlock.
   *
   * @return whether a retry was due (never, without invalidations)
   */
  @Benchmark
  public boolean readSide() {
    long seq = sub.readBegin();
    update.lock();
    boolean retry = sub.readRetry(seq);
    update.unlock();
    return retry;
  }

  /**
   * The floor: the same lock and unlock plus two volatile reads.
   *
   * @return whether the two words differ (always)
   */
  @Benchmark
  public boolean floor() {
    SeqWords w = words;
    long seq = w.containerSeq;
    update.lock();
    boolean retry = w.subscriptionSeq != seq;
    update.unlock();
    return retry;
  }

  /**
   * The floor plus an uncontended spin lock pair before the update lock, where {@code readBegin}
   * takes the container's.
   *
   * @return whether the two words differ (always)
   */
  @Benchmark
  public boolean floorPlusSpinLock() {
    SeqWords w = words;
    spin.lock();
    long seq = w.containerSeq;
    spin.unlock();
    update.lock();
    boolean retry = w.subscriptionSeq != seq;
    update.unlock();
    return retry;
  }
}
