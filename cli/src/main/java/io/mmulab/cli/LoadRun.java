package io.mmulab.cli;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverCounters;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Madvise;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * A short load on real threads against a driver's consolidated variant: two device threads read and
 * prefetch pages of a 16-page buffer while a CPU thread munmaps and remaps, mprotects and discards
 * them, for a fixed time.
 *
 * <p>Device faults, retries, invalidations and pins are the driver's own counts ({@link
 * DriverAdapter#counters()}): what it counted between the threads' start and their stop.
 */
final class LoadRun {
  private static final long PAGE = AddressSpace.PAGE_SIZE;
  private static final int PAGES = 16;
  private static final int FRAMES = 4096;
  private static final int DEVICE_THREADS = 2;
  private static final long JOIN_MILLIS = 10_000;

  private final DriverFactory factory;
  private final Duration duration;
  private final long seed;
  private final LongAdder deviceOps = new LongAdder();
  private final LongAdder deviceErrors = new LongAdder();
  private final LongAdder cpuOps = new LongAdder();
  private final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean stop = new AtomicBoolean();

  /**
   * Prepares a load.
   *
   * @param factory the driver; its consolidated variant runs
   * @param duration how long the threads run
   * @param seed seed of the threads' random choices (the interleaving is not reproducible)
   */
  LoadRun(DriverFactory factory, Duration duration, long seed) {
    this.factory = factory;
    this.duration = duration;
    this.seed = seed;
  }

  /**
   * Runs the load.
   *
   * @return what it measured and what the checker reported
   */
  LoadResult run() {
    SyncRuntime rt = RealSyncRuntime.get();
    CoherencyChecker checker = new CoherencyChecker();
    SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, FRAMES, checker));
    SimProcess process = machine.spawnProcess("load");
    DriverCounters counted = DriverCounters.ZERO;
    long t0 = System.nanoTime();
    try {
      long base = map(process, 0, PAGES);
      for (int i = 0; i < PAGES; i++) {
        process.store(base + i * PAGE, i);
      }
      DriverAdapter dev = factory.create(DriverVariant.CONSOLIDATED, process, machine);
      List<Thread> threads = new ArrayList<>();
      threads.add(thread("cpu", r -> cpu(process, base, r)));
      for (int i = 0; i < DEVICE_THREADS; i++) {
        threads.add(thread("device" + i, r -> device(dev, base, r)));
      }
      DriverCounters before = dev.counters();
      t0 = System.nanoTime();
      threads.forEach(Thread::start);
      Thread.sleep(duration.toMillis());
      stop.set(true);
      boolean hung = false;
      for (Thread t : threads) {
        t.join(JOIN_MILLIS);
        if (t.isAlive()) {
          hung = true;
          errors.add("thread " + t.getName() + " did not stop within " + JOIN_MILLIS + " ms");
        }
      }
      counted = dev.counters().minus(before);
      if (!hung) {
        dev.teardown();
        process.exit();
      }
    } catch (ErrnoException e) {
      errors.add("setup failed: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      errors.add("interrupted");
    }
    double seconds = Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
    return new LoadResult(
        factory.name(),
        seconds,
        deviceOps.sum(),
        deviceErrors.sum(),
        counted,
        cpuOps.sum(),
        checker.violations(),
        checker.violationCount(),
        List.copyOf(errors));
  }

  private interface Step {
    void run(SplittableRandom r) throws ErrnoException;
  }

  private Thread thread(String name, Step step) {
    long threadSeed = seed * 31 + name.hashCode();
    Thread t =
        new Thread(
            () -> {
              SplittableRandom r = new SplittableRandom(threadSeed);
              while (!stop.get()) {
                try {
                  step.run(r);
                } catch (ErrnoException e) {
                  // a page may be gone at any moment: the CPU thread maps it back
                } catch (RuntimeException | Error e) {
                  errors.add("thread " + name + " threw: " + e);
                  return;
                }
              }
            },
            "mmulab-load/" + name);
    t.setDaemon(true);
    return t;
  }

  private void cpu(SimProcess p, long base, SplittableRandom r) throws ErrnoException {
    int page = r.nextInt(PAGES);
    long va = base + page * PAGE;
    switch (r.nextInt(3)) {
      case 0 -> {
        p.munmap(va, PAGE);
        map(p, va, 1);
        p.store(va, page);
      }
      case 1 -> {
        p.mprotect(va, PAGE, Mman.PROT_READ);
        p.mprotect(va, PAGE, Mman.PROT_READ | Mman.PROT_WRITE);
      }
      default -> p.madvise(va, PAGE, Madvise.DONTNEED);
    }
    cpuOps.increment();
  }

  /** One device operation: a read or a prefetch of a random page. */
  private void device(DriverAdapter dev, long base, SplittableRandom r) throws ErrnoException {
    long va = base + r.nextInt(PAGES) * PAGE;
    try {
      if (r.nextInt(4) == 0) {
        dev.prefetch(va, PAGE, false);
      } else {
        dev.read(va, 1);
      }
    } catch (ErrnoException e) {
      deviceErrors.increment();
      throw e;
    } finally {
      deviceOps.increment();
    }
  }

  private static long map(SimProcess p, long va, int pages) throws ErrnoException {
    return p.mmap(
        va,
        pages * PAGE,
        Mman.PROT_READ | Mman.PROT_WRITE,
        Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | (va == 0 ? 0 : Mman.MAP_FIXED));
  }
}
