package io.mmulab.testkit;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.driver.ViolationKind;
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
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

/**
 * The real-thread stress run: one process with an 8-page buffer, two CPU threads (one unmapping and
 * remapping pages, a {@code MAP_FIXED} over a live page unmapping it too; one changing protections,
 * migrating and discarding), two device threads (reads, writes, prefetches, jobs), a fixed number
 * of operations each. Errnos are expected everywhere (a page may be gone at any moment); anything
 * else thrown, a thread that does not finish in time, and any checker violation a declared race
 * does not allow are failures.
 */
final class StressRun {
  private static final long PAGE = AddressSpace.PAGE_SIZE;
  private static final int PAGES = 8;
  private static final int FRAMES = 4096;

  private final DriverFactory factory;
  private final DriverVariant variant;
  private final long seed;
  private final int ops;
  private final Duration timeout;
  private final Map<String, LongAdder> calls = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();

  StressRun(DriverFactory factory, DriverVariant variant, long seed, int ops, Duration timeout) {
    this.factory = factory;
    this.variant = variant;
    this.seed = seed;
    this.ops = ops;
    this.timeout = timeout;
  }

  StressResult run() {
    long t0 = System.nanoTime();
    SyncRuntime rt = RealSyncRuntime.get();
    CoherencyChecker checker = new CoherencyChecker();
    SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, FRAMES, checker));
    SimProcess process = machine.spawnProcess("stress");
    DriverAdapter dev = null;
    try {
      long base = mapFixedOrAnywhere(process, 0, PAGES);
      for (int i = 0; i < PAGES; i++) {
        process.store(base + i * PAGE, i);
      }
      dev = factory.create(variant, process, machine);
      DriverAdapter adapter = dev;
      List<Thread> threads =
          List.of(
              thread("cpu-mmap", r -> remap(process, base, r)),
              thread("cpu-protect", r -> protect(process, base, r)),
              thread("device0", r -> device(adapter, base, r)),
              thread("device1", r -> device(adapter, base, r)));
      threads.forEach(Thread::start);
      long deadline = System.nanoTime() + timeout.toNanos();
      boolean hung = false;
      for (Thread t : threads) {
        t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        if (t.isAlive()) {
          hung = true;
          errors.add(
              "thread "
                  + t.getName()
                  + " did not finish within "
                  + timeout.toSeconds()
                  + " s:\n"
                  + stack(t));
        }
      }
      if (!hung) {
        dev.teardown();
        process.exit();
      }
    } catch (ErrnoException e) {
      errors.add("setup failed: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      errors.add("interrupted");
    } catch (RuntimeException | AssertionError e) {
      errors.add("main thread: " + e);
    }
    Map<String, Long> counts = new TreeMap<>();
    calls.forEach((k, v) -> counts.put(k, v.sum()));
    return new StressResult(
        factory.name(),
        variant,
        seed,
        ops,
        counts,
        checker.violations(),
        checker.violationCount(),
        allowedKinds(),
        List.copyOf(errors),
        Duration.ofNanos(System.nanoTime() - t0));
  }

  private Set<ViolationKind> allowedKinds() {
    Set<ViolationKind> kinds = EnumSet.noneOf(ViolationKind.class);
    if (variant != DriverVariant.CONSOLIDATED) {
      for (DeclaredRace r : factory.declaredRaces(variant)) {
        kinds.addAll(r.kinds());
      }
    }
    return kinds;
  }

  private interface Body {
    void step(SplittableRandom r) throws ErrnoException;
  }

  private Thread thread(String name, Body body) {
    long threadSeed = seed * 31 + name.hashCode();
    Thread t =
        new Thread(
            () -> {
              SplittableRandom r = new SplittableRandom(threadSeed);
              String kind = name.replaceAll("\\d+$", "");
              for (int i = 0; i < ops; i++) {
                try {
                  body.step(r);
                  count(kind + " ok");
                } catch (ErrnoException e) {
                  count(kind + " " + e.errno());
                } catch (RuntimeException | Error e) {
                  errors.add("thread " + name + " threw at op " + i + ": " + e + "\n" + trace(e));
                  return;
                }
              }
            },
            "stress/" + name);
    t.setDaemon(true); // a hung thread must not keep the JVM alive
    return t;
  }

  private static void remap(SimProcess p, long base, SplittableRandom r) throws ErrnoException {
    int page = r.nextInt(PAGES);
    long va = base + page * PAGE;
    if (r.nextInt(3) == 0) {
      p.munmap(va, PAGE);
    } else {
      mapFixedOrAnywhere(p, va, 1);
      p.store(va, page);
    }
  }

  private static void protect(SimProcess p, long base, SplittableRandom r) throws ErrnoException {
    int first = r.nextInt(PAGES);
    int n = 1 + r.nextInt(PAGES - first);
    long va = base + first * PAGE;
    switch (r.nextInt(4)) {
      case 0 -> p.mprotect(va, n * PAGE, Mman.PROT_READ);
      case 1 -> p.mprotect(va, n * PAGE, Mman.PROT_READ | Mman.PROT_WRITE);
      case 2 -> p.migrate(va, va + n * PAGE, "stress");
      default -> p.madvise(va, n * PAGE, Madvise.DONTNEED);
    }
  }

  private static void device(DriverAdapter dev, long base, SplittableRandom r)
      throws ErrnoException {
    long va = base + r.nextInt(PAGES) * PAGE;
    switch (r.nextInt(4)) {
      case 0 -> dev.read(va, 1);
      case 1 -> dev.write(va, new long[] {r.nextLong()});
      case 2 -> dev.prefetch(va, PAGE, r.nextBoolean());
      default -> {
        JobFence f = dev.submit(va, 1, new long[] {r.nextLong()});
        f.waitTimeout(Long.MAX_VALUE);
        if (f.error() != null) {
          throw f.error();
        }
      }
    }
  }

  private static long mapFixedOrAnywhere(SimProcess p, long va, int pages) throws ErrnoException {
    return p.mmap(
        va,
        pages * PAGE,
        Mman.PROT_READ | Mman.PROT_WRITE,
        Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | (va == 0 ? 0 : Mman.MAP_FIXED));
  }

  private void count(String key) {
    calls.computeIfAbsent(key, k -> new LongAdder()).increment();
  }

  private static String stack(Thread t) {
    return Arrays.stream(t.getStackTrace())
        .map(e -> "    at " + e)
        .collect(Collectors.joining("\n"));
  }

  private static String trace(Throwable e) {
    List<String> lines = new ArrayList<>();
    for (StackTraceElement el : e.getStackTrace()) {
      lines.add("    at " + el);
      if (lines.size() == 12) {
        break;
      }
    }
    return String.join("\n", lines);
  }
}
