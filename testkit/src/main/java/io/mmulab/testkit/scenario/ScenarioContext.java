package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.sched.DeterministicRuntime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link Scenario} runs against: a fresh deterministic machine with one process, the driver
 * under test, and helpers to spawn threads, map memory and drive the device.
 *
 * <p>Threads: {@link #spawn} starts a simulated thread; {@link #cpu} starts one that first passes a
 * seeded random number of scheduling points, so its operation lands anywhere in the device's work.
 * A checked {@link ErrnoException} escaping a thread body fails the run, naming the thread.
 *
 * <p>Device calls: the adapter's verbs called directly must succeed; the {@code try…} helpers
 * accept any errno (counted in the run's statistics) for calls that race with the CPU.
 *
 * <p>Everything here is called from simulated threads of the run; one context serves one run.
 */
public final class ScenarioContext {
  /** Upper bound (inclusive) of the scheduling points {@link #cpu(String, Action)} waits first. */
  public static final int DEFAULT_MAX_DELAY = 64;

  /** A thread body or setup step that may fail with an errno. */
  @FunctionalInterface
  public interface Action {
    /**
     * Runs the step.
     *
     * @throws ErrnoException if it fails
     */
    void run() throws ErrnoException;
  }

  private final DeterministicRuntime runtime;
  private final SimMachine machine;
  private final SimProcess process;
  private final DriverFactory factory;
  private final DriverVariant variant;
  private final SplittableRandom random;
  private final ScenarioStats stats;
  private final List<ThreadHandle> threads = new ArrayList<>();
  private final List<DriverAdapter> adapters = new ArrayList<>();
  private final List<SimProcess> processes = new ArrayList<>();
  private final AtomicLong noted = new AtomicLong();
  private final List<Violation> findings = new ArrayList<>(); // simulated threads, one at a time
  private @Nullable DriverAdapter adapter;

  ScenarioContext(
      DeterministicRuntime runtime,
      SimMachine machine,
      SimProcess process,
      DriverFactory factory,
      DriverVariant variant,
      ScenarioStats stats) {
    this.runtime = runtime;
    this.machine = machine;
    this.process = process;
    this.factory = factory;
    this.variant = variant;
    this.stats = stats;
    this.random = new SplittableRandom(runtime.config().seed() * 0x9E3779B97F4A7C15L + 17);
    processes.add(process);
  }

  // ---------------------------------------------------------------------------------------------
  // The machine and the driver

  /**
   * Returns the runtime of the run.
   *
   * @return the deterministic runtime
   */
  public DeterministicRuntime runtime() {
    return runtime;
  }

  /**
   * Returns the machine.
   *
   * @return the machine
   */
  public SimMachine machine() {
    return machine;
  }

  /**
   * Returns the coherency checker, which sees every CPU page-table change and device access.
   *
   * @return the machine's checker
   */
  public CoherencyChecker checker() {
    return machine.checker();
  }

  /**
   * Returns the process the scenario works on.
   *
   * @return the process, named {@code "app"}
   */
  public SimProcess process() {
    return process;
  }

  /**
   * Returns the driver under test.
   *
   * @return its factory
   */
  public DriverFactory factory() {
    return factory;
  }

  /**
   * Returns the variant under test.
   *
   * @return the variant
   */
  public DriverVariant variant() {
    return variant;
  }

  /**
   * Returns the driver's coherency model, for expectations that hold only for coherent devices.
   *
   * @return the model
   */
  public CoherencyModel model() {
    return factory.model();
  }

  /**
   * Returns the adapter under test for {@link #process()}, creating it on the first call.
   *
   * @return the adapter
   * @throws ErrnoException as {@link DriverFactory#create} fails
   */
  public DriverAdapter adapter() throws ErrnoException {
    if (adapter == null) {
      adapter = newAdapter(process);
    }
    return adapter;
  }

  /**
   * Creates another adapter of the same driver and variant (another open of the device); the runner
   * tears it down at the end unless the scenario did.
   *
   * @param p the process it binds to
   * @return the adapter
   * @throws ErrnoException as {@link DriverFactory#create} fails
   */
  public DriverAdapter newAdapter(SimProcess p) throws ErrnoException {
    DriverAdapter a = factory.create(variant, p, machine);
    Objects.requireNonNull(a, () -> factory.name() + " created a null adapter");
    synchronized (adapters) {
      adapters.add(a);
    }
    return a;
  }

  // ---------------------------------------------------------------------------------------------
  // Memory and processes

  /**
   * Maps a private anonymous read-write buffer in {@link #process()} and writes {@link
   * Buffer#initial(int)} into each page, so that every page is present and exclusive.
   *
   * @param pages how many pages, at least 1
   * @return the buffer
   * @throws ErrnoException if the mapping fails
   */
  public Buffer mapBuffer(int pages) throws ErrnoException {
    long start =
        process.mmap(
            0,
            Buffer.pages(pages),
            Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    Buffer b = new Buffer(process, start, pages);
    for (int i = 0; i < pages; i++) {
      process.store(b.va(i), Buffer.initial(i));
    }
    return b;
  }

  /**
   * Forks {@code parent}; the runner exits the child at the end unless the scenario did.
   *
   * @param parent the process to fork
   * @param childName the child's name
   * @return the child
   * @throws ErrnoException as {@link SimProcess#fork(String)}
   */
  public SimProcess fork(SimProcess parent, String childName) throws ErrnoException {
    SimProcess child = parent.fork(childName);
    synchronized (processes) {
      processes.add(child);
    }
    return child;
  }

  // ---------------------------------------------------------------------------------------------
  // Threads

  /**
   * Starts a simulated thread.
   *
   * @param name its name, for the trace
   * @param body what it does; an escaping {@link ErrnoException} fails the run
   * @return its handle
   */
  public ThreadHandle spawn(String name, Action body) {
    ThreadHandle t = runtime.spawn(name, unchecked(name, body));
    synchronized (threads) {
      threads.add(t);
    }
    return t;
  }

  /**
   * Starts a CPU thread that first passes a seeded random number (up to {@link #DEFAULT_MAX_DELAY})
   * of scheduling points, then runs {@code op}.
   *
   * @param name its name
   * @param op the CPU's operation
   * @return its handle
   */
  public ThreadHandle cpu(String name, Action op) {
    return cpu(name, DEFAULT_MAX_DELAY, op);
  }

  /**
   * Starts a CPU thread that first passes a seeded random number, up to {@code maxDelay}, of
   * scheduling points, then runs {@code op}.
   *
   * @param name its name
   * @param maxDelay the most scheduling points before {@code op}, not negative
   * @param op the CPU's operation
   * @return its handle
   */
  public ThreadHandle cpu(String name, int maxDelay, Action op) {
    return cpuAfter(name, random.nextInt(maxDelay + 1), op);
  }

  /**
   * Starts a CPU thread that first passes exactly {@code delay} scheduling points, then runs {@code
   * op}. Threads given the same delay start their operations close together (the schedule still
   * decides how close), which is how a scenario makes two invalidation windows overlap.
   *
   * @param name its name
   * @param delay scheduling points before {@code op}, not negative
   * @param op the CPU's operation
   * @return its handle
   */
  public ThreadHandle cpuAfter(String name, int delay, Action op) {
    if (delay < 0) {
      throw new IllegalArgumentException("negative delay " + delay);
    }
    return spawn(
        name,
        () -> {
          for (int i = 0; i < delay; i++) {
            runtime.yieldPoint(name + ": not yet");
          }
          try {
            op.run();
          } finally {
            noteNewViolations();
          }
        });
  }

  /**
   * Runs {@code round} repeatedly until every thread of {@code others} has finished, then once
   * more: the device side of a scenario keeps working for as long as the CPU side runs, and catches
   * up with its final state at the end.
   *
   * @param others the threads to outlast, usually the CPU threads
   * @param round one round of work; it must pass a scheduling point (any device call does)
   * @throws ErrnoException as {@code round} fails
   */
  public void repeatWhileRunning(List<ThreadHandle> others, Action round) throws ErrnoException {
    boolean last;
    do {
      last = others.stream().allMatch(ThreadHandle::isDone);
      round.run();
    } while (!last);
  }

  /** Waits for every thread started through this context. */
  public void joinAll() {
    List<ThreadHandle> copy;
    synchronized (threads) {
      copy = List.copyOf(threads);
    }
    for (ThreadHandle t : copy) {
      t.join();
    }
  }

  /**
   * A scheduling point, labelled in the trace.
   *
   * @param label what the thread is about to do
   */
  public void yieldPoint(String label) {
    runtime.yieldPoint(label);
  }

  /**
   * Adds {@code label} to the trace without a scheduling point.
   *
   * @param label what happened
   */
  public void note(String label) {
    runtime.note(label);
  }

  /**
   * Returns the run's random source, seeded from the schedule's seed (so a replay draws the same).
   *
   * @return the source; draw from the main thread for draws independent of the schedule
   */
  public SplittableRandom random() {
    return random;
  }

  // ---------------------------------------------------------------------------------------------
  // Device calls that may fail

  /**
   * Has the device read one word; any errno is accepted and counted.
   *
   * @param a the adapter
   * @param va 8-byte aligned address
   * @return the word, or empty if the driver failed the read
   */
  public OptionalLong tryRead(DriverAdapter a, long va) {
    try {
      long v = a.read(va, 1)[0];
      ok("read");
      return OptionalLong.of(v);
    } catch (ErrnoException e) {
      failed("read", e.errno());
      return OptionalLong.empty();
    }
  }

  /**
   * Has the device write one word; any errno is accepted and counted.
   *
   * @param a the adapter
   * @param va 8-byte aligned address
   * @param value the word
   * @return true if the write succeeded
   */
  public boolean tryWrite(DriverAdapter a, long va, long value) {
    try {
      a.write(va, new long[] {value});
      ok("write");
      return true;
    } catch (ErrnoException e) {
      failed("write", e.errno());
      return false;
    }
  }

  /**
   * Has the driver populate translations ahead of use; any errno is accepted and counted.
   *
   * @param a the adapter
   * @param va page-aligned address
   * @param length bytes, a multiple of the page size
   * @param write whether writable translations are wanted
   * @return true if the prefetch succeeded
   */
  public boolean tryPrefetch(DriverAdapter a, long va, long length, boolean write) {
    try {
      a.prefetch(va, length, write);
      ok("prefetch");
      return true;
    } catch (ErrnoException e) {
      failed("prefetch", e.errno());
      return false;
    }
  }

  /**
   * Submits a device job; a failed submission (any errno) is accepted and counted.
   *
   * @param a the adapter
   * @param va 8-byte aligned address
   * @param words how many words the job touches
   * @param data the words to write, or null for a read
   * @return the job's fence, or empty if the submission failed
   */
  public Optional<JobFence> trySubmit(DriverAdapter a, long va, int words, long[] data) {
    try {
      JobFence f = a.submit(va, words, data);
      Objects.requireNonNull(f, () -> a.driver() + " returned a null fence");
      ok("submit");
      return Optional.of(f);
    } catch (ErrnoException e) {
      failed("submit", e.errno());
      return Optional.empty();
    }
  }

  /**
   * Waits for a job without a timeout and counts how it ended.
   *
   * @param f the job's fence
   * @return true if the job succeeded
   */
  public boolean awaitJob(JobFence f) {
    f.waitTimeout(Long.MAX_VALUE);
    ErrnoException e = f.error();
    if (e == null) {
      ok("job");
      return true;
    }
    failed("job", e.errno());
    return false;
  }

  /**
   * Has the device touch every page of {@code buf} before the race starts, so that it holds
   * translations the CPU side must take away (a callback that forgets to zap is caught only if
   * there is something to zap). Reads return the initial values; writes store them again. Must
   * succeed.
   *
   * @param a the adapter
   * @param buf the buffer, as {@link #mapBuffer} left it
   * @param write whether to write (the device then holds writable translations) or read
   * @throws ErrnoException if a device access fails
   */
  public void warmUp(DriverAdapter a, Buffer buf, boolean write) throws ErrnoException {
    for (int p = 0; p < buf.pages(); p++) {
      if (write) {
        a.write(buf.va(p), new long[] {Buffer.initial(p)});
      } else {
        long v = a.read(buf.va(p), 1)[0];
        expect(
            ViolationKind.STALE_USE,
            v == Buffer.initial(p),
            "warm-up read of page %d returned %#x",
            p,
            v);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Oracles

  /**
   * Records a finding of {@code kind} if {@code condition} is false, unless the checker already
   * reported a violation (which then explains the surprise, and is what gets classified). A
   * scenario's own expectation is a finding like the checker's: a variant can declare it by its
   * kind, the suite and {@code ./mmulab run} judge it the same way, and the run goes on. Expect
   * only what the driver's {@link #model() coherency model} promises (for example, coherence with
   * the CPU page table only where {@code model().coherent()}).
   *
   * @param kind the rule the surprise breaks, as the checker would name it
   * @param condition what must hold
   * @param format the message, as for {@link String#format}
   * @param args its arguments
   */
  public void expect(ViolationKind kind, boolean condition, String format, Object... args) {
    Objects.requireNonNull(kind, "kind is null");
    if (!condition && checker().isClean() && findings.size() < MAX_FINDINGS) {
      Violation finding =
          new Violation(
              kind,
              SCENARIO,
              process.mm().name(),
              CoherencyChecker.NO_VA,
              CoherencyChecker.NO_PFN,
              "scenario expectation: " + String.format(format, args),
              checker().trace());
      findings.add(finding);
      runtime.note(VIOLATION_NOTE + finding.summary());
      // in a journaled replay, where the checker's own violations are too
      runtime.journal(() -> ScenarioRunner.JOURNAL_VIOLATION + finding.summary());
    }
  }

  /** The device name of the findings of a scenario's own expectations. */
  public static final String SCENARIO = "scenario";

  /** The most expectation findings a run keeps. */
  private static final int MAX_FINDINGS = 16;

  /**
   * Returns the findings of the scenario's own expectations so far, oldest first.
   *
   * @return a copy
   */
  public List<Violation> findings() {
    return List.copyOf(findings);
  }

  // ---------------------------------------------------------------------------------------------
  // For the runner

  /** The label prefix of the notes that mark, in the schedule's trace, a new violation. */
  static final String VIOLATION_NOTE = "checker: ";

  private void ok(String verb) {
    stats.ok(verb);
    noteNewViolations();
  }

  private void failed(String verb, io.mmulab.api.Errno errno) {
    stats.failed(verb, errno);
    noteNewViolations();
  }

  /**
   * Marks violations the checker reported since the last call in the schedule's trace, so that a
   * failure message can show the schedule around the first one (the checker numbers its own events;
   * this ties them to scheduling steps, at the device call or CPU operation that returned after
   * them).
   */
  void noteNewViolations() {
    long before = noted.get();
    long now = checker().violationCount();
    if (now > before && noted.compareAndSet(before, now)) {
      List<io.mmulab.sim.check.Violation> kept = checker().violations();
      for (long i = before; i < Math.min(now, kept.size()); i++) {
        runtime.note(VIOLATION_NOTE + kept.get((int) i).summary());
      }
    }
  }

  List<DriverAdapter> adapters() {
    synchronized (adapters) {
      return List.copyOf(adapters);
    }
  }

  List<SimProcess> processes() {
    synchronized (processes) {
      return List.copyOf(processes);
    }
  }

  private static Runnable unchecked(String thread, Action body) {
    return () -> {
      try {
        body.run();
      } catch (ErrnoException e) {
        throw new AssertionError("thread " + thread + ": a call that must succeed failed: " + e, e);
      }
    };
  }
}
