package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.sched.DeterministicRuntime;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Shrinker;
import io.mmulab.sim.sched.Simulation;
import io.mmulab.sim.sched.ThreadKind;
import io.mmulab.sim.sched.TraceEntry;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Runs scenarios against one driver variant under the deterministic runtime: each run builds a
 * fresh machine (physical memory, checker, one process {@code "app"}), runs the scenario's program,
 * then joins its threads, tears its adapters down and exits its processes, and collects what the
 * checker and the kernel saw. The same seed (or the same config and choice list) gives the same
 * run; seeds alternate between two {@link ScheduleStrategy strategies}.
 *
 * <pre>{@code
 * ScenarioRunner runner = new ScenarioRunner(factory, DriverVariant.CONSOLIDATED);
 * ScenarioRun run = runner.run(Scenarios.byName("munmap-vs-fault"), 7);
 * if (!run.isClean()) {
 *   ShrunkSchedule s = runner.shrink(run, r -> !r.isClean(), 200);
 *   System.out.println(s.run().describe(40) + s.describe());
 * }
 * }</pre>
 *
 * <p>Stateless apart from its configuration; one runner may serve many runs, one at a time or
 * concurrently.
 */
public final class ScenarioRunner {
  /** Frames of physical memory per run: small, so that freed frames are reused soon. */
  public static final int DEFAULT_FRAME_BUDGET = 1024;

  /** Name of the process every run starts with. */
  public static final String PROCESS = "app";

  private final DriverFactory factory;
  private final DriverVariant variant;
  private final int frameBudget;
  private final @Nullable ThreadKind threads; // null: the selected kind at each run

  /**
   * A runner with {@link #DEFAULT_FRAME_BUDGET} frames.
   *
   * @param factory the driver
   * @param variant one of its variants
   * @throws IllegalArgumentException if the driver has no such variant
   */
  public ScenarioRunner(DriverFactory factory, DriverVariant variant) {
    this(factory, variant, DEFAULT_FRAME_BUDGET);
  }

  /**
   * A runner.
   *
   * @param factory the driver
   * @param variant one of its variants
   * @param frameBudget frames of physical memory per run, at least 1
   * @throws IllegalArgumentException if the driver has no such variant, or the budget is below 1
   */
  public ScenarioRunner(DriverFactory factory, DriverVariant variant, int frameBudget) {
    this(factory, variant, frameBudget, null);
  }

  private ScenarioRunner(
      DriverFactory factory, DriverVariant variant, int frameBudget, @Nullable ThreadKind threads) {
    this.factory = Objects.requireNonNull(factory, "factory is null");
    this.variant = Objects.requireNonNull(variant, "variant is null");
    if (!factory.variants().contains(variant)) {
      throw new IllegalArgumentException(
          factory.name() + " has no " + variant + " variant; it has " + factory.variants());
    }
    if (frameBudget < 1) {
      throw new IllegalArgumentException("frame budget " + frameBudget + " is below 1");
    }
    this.frameBudget = frameBudget;
    this.threads = threads;
  }

  /**
   * Returns a runner like this one whose runs are carried by {@code kind} of thread, whatever
   * {@value ThreadKind#PROPERTY} says: for comparing the kinds, which give the same runs.
   *
   * @param kind the kind
   * @return the new runner
   */
  public ScenarioRunner onThreads(ThreadKind kind) {
    return new ScenarioRunner(
        factory, variant, frameBudget, Objects.requireNonNull(kind, "kind is null"));
  }

  /**
   * Returns the driver.
   *
   * @return the factory
   */
  public DriverFactory factory() {
    return factory;
  }

  /**
   * Returns the variant.
   *
   * @return the variant
   */
  public DriverVariant variant() {
    return variant;
  }

  /**
   * Returns the scheduler configuration of a scenario's run with {@code seed}: the default budget,
   * with the scenario's fault plan, on this runner's kind of thread.
   *
   * @param scenario the scenario
   * @param seed the seed
   * @return the config
   */
  public SchedulerConfig config(Scenario scenario, long seed) {
    SchedulerConfig c = SchedulerConfig.ofSeed(seed).withFaults(scenario.faults());
    return threads == null ? c : c.withThreads(threads);
  }

  /**
   * Runs a scenario once with a schedule drawn from {@code seed} (by the seed's {@link
   * ScheduleStrategy}).
   *
   * @param scenario the scenario
   * @param seed the seed
   * @return the run
   */
  public ScenarioRun run(Scenario scenario, long seed) {
    Program p = new Program(scenario);
    DeterministicRuntime rt =
        new DeterministicRuntime(
            config(scenario, seed), ScheduleStrategy.forSeed(seed).source(seed));
    return p.toRun(rt.run(() -> p.accept(rt)));
  }

  /**
   * Runs a scenario with a recorded schedule.
   *
   * @param scenario the scenario
   * @param config the config (its seed drives the fault knobs and the scenario's random draws)
   * @param choices the choice list
   * @return the run
   */
  public ScenarioRun replay(Scenario scenario, SchedulerConfig config, int[] choices) {
    Program p = new Program(scenario);
    return p.toRun(Simulation.replay(config, choices, p));
  }

  /**
   * Runs an earlier run again: same scenario, config and choices, hence the same trace.
   *
   * @param previous a run of this runner's driver and variant
   * @return the new run
   */
  public ScenarioRun replay(ScenarioRun previous) {
    return replay(previous.scenario(), previous.result().config(), previous.result().choiceArray());
  }

  /**
   * Replays a run with a journal: the same schedule, with the checker's events, its violations and
   * the core's sequence reads and writes added to the trace of the thread that caused each, as
   * entries labelled {@value #JOURNAL_CHECKER}, {@value #JOURNAL_VIOLATION}, {@code readBegin},
   * {@code readRetry}, {@code checkRetry} and {@code setSeq}. What race reports draw stories from.
   *
   * @param scenario the scenario
   * @param config the config
   * @param choices the choice list
   * @return the run, its trace with the journal entries
   */
  public ScenarioRun replayWithJournal(Scenario scenario, SchedulerConfig config, int[] choices) {
    Program p = new Program(scenario, true);
    return p.toRun(Simulation.replay(config, choices, p));
  }

  /**
   * Returns {@code run} with each finding of the scenario's own expectations ({@link
   * ScenarioContext#expect}) carrying the whole checker trace up to it, not only the checker's last
   * events: a journaled replay of the run records every checker event. A checker violation ends its
   * trace with the event that broke the rule; an expectation is often checked long after what broke
   * it, so it needs the whole history.
   *
   * @param run a run of this runner's driver and variant
   * @return {@code run} itself if it has no such finding, else a copy with the longer traces
   */
  public ScenarioRun withWholeCheckerTraces(ScenarioRun run) {
    if (run.violations().stream().noneMatch(v -> v.deviceId().equals(ScenarioContext.SCENARIO))) {
      return run;
    }
    RunResult r = run.result();
    List<TraceEntry> journal =
        replayWithJournal(run.scenario(), r.config(), r.choiceArray()).result().trace().entries();
    List<Violation> violations = new ArrayList<>();
    for (Violation v : run.violations()) {
      violations.add(v.deviceId().equals(ScenarioContext.SCENARIO) ? wholeTrace(v, journal) : v);
    }
    return new ScenarioRun(
        run.scenario(),
        run.driver(),
        run.variant(),
        r,
        violations,
        run.violationCount(),
        run.warnings(),
        run.deviceCalls());
  }

  /** {@code v} with the checker events journaled before it, or {@code v} if it is not there. */
  private static Violation wholeTrace(Violation v, List<TraceEntry> journal) {
    String mark = JOURNAL_VIOLATION + v.summary();
    List<String> events = new ArrayList<>();
    for (TraceEntry e : journal) {
      if (e.label().equals(mark)) {
        return new Violation(v.kind(), v.deviceId(), v.mm(), v.va(), v.pfn(), v.message(), events);
      }
      if (e.label().startsWith(JOURNAL_CHECKER)) {
        events.add(e.label().substring("checker ".length()));
      }
    }
    return v;
  }

  /**
   * The label prefix of a checker event in a journaled trace ({@code "checker #12 frameFreed"}).
   */
  public static final String JOURNAL_CHECKER = "checker #";

  /** The label prefix of a violation in a journaled trace, followed by its summary. */
  public static final String JOURNAL_VIOLATION = "checker violation ";

  /**
   * Shrinks a failing run's schedule with {@link Shrinker}, keeping only what {@code fails} still
   * holds for.
   *
   * @param failing a run of this runner for which {@code fails} holds
   * @param fails what counts as the failure, such as "an undeclared STALE_USE"
   * @param maxAttempts the most replays to spend, at least 1
   * @return the shrunk schedule and its failing replay
   * @throws IllegalArgumentException if {@code failing} does not fail on replay
   */
  public ShrunkSchedule shrink(
      ScenarioRun failing, Predicate<? super ScenarioRun> fails, int maxAttempts) {
    Program p = new Program(failing.scenario());
    Shrinker.Result r =
        Shrinker.shrink(
            failing.result().config(),
            p,
            result -> fails.test(p.toRun(result)),
            failing.result().choiceArray(),
            maxAttempts);
    // The shrinker's last replay need not be its best one: replay the result to judge it.
    ScenarioRun shrunk = replay(failing.scenario(), failing.result().config(), r.choiceArray());
    return new ShrunkSchedule(
        r.choices(), failing.result().choices().size(), r.attempts() + 1, shrunk);
  }

  /**
   * The program of one scenario; each execution records its machine so that the run's result can be
   * judged after the runtime returned. Executions are sequential (the shrinker replays one at a
   * time), so the last one is the one just finished.
   */
  private final class Program implements Consumer<DeterministicRuntime> {
    private final Scenario scenario;
    private final boolean journal;
    private final AtomicReference<Capture> last = new AtomicReference<>();

    Program(Scenario scenario) {
      this(scenario, false);
    }

    Program(Scenario scenario, boolean journal) {
      this.scenario = Objects.requireNonNull(scenario, "scenario is null");
      this.journal = journal;
    }

    @Override
    public void accept(DeterministicRuntime rt) {
      Capture c = new Capture();
      last.set(c);
      CoherencyChecker checker = new CoherencyChecker();
      if (journal) {
        rt.keepJournal();
        // EventLog texts are "#n event" and "violation <summary>"
        checker.journalTo(e -> rt.journal(() -> "checker " + e));
      }
      SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, frameBudget, checker));
      c.machine = machine;
      SimProcess process = machine.spawnProcess(PROCESS);
      ScenarioContext ctx = new ScenarioContext(rt, machine, process, factory, variant, c.stats);
      c.ctx = ctx;
      try {
        scenario.run(ctx);
      } catch (ErrnoException e) {
        throw new AssertionError(
            "scenario " + scenario.name() + ": a call that must succeed failed: " + e, e);
      }
      ctx.joinAll();
      List<DriverAdapter> adapters = new ArrayList<>(ctx.adapters());
      Collections.reverse(adapters);
      for (DriverAdapter a : adapters) {
        a.teardown();
      }
      List<SimProcess> processes = new ArrayList<>(ctx.processes());
      Collections.reverse(processes); // children first
      for (SimProcess p : processes) {
        if (!p.isExited()) {
          p.exit(); // a subscription left behind now gets a callback for a torn-down device
        }
      }
    }

    ScenarioRun toRun(RunResult result) {
      Capture c = last.get();
      if (c == null || c.machine == null) {
        return new ScenarioRun(
            scenario, factory.name(), variant, result, List.of(), 0, List.of(), Map.of());
      }
      CoherencyChecker checker = c.machine.checker();
      List<String> warnings = new ArrayList<>();
      if (c.ctx != null) {
        for (SimProcess p : c.ctx.processes()) {
          p.mm().warnings().forEach(w -> warnings.add(p.mm().name() + ": " + w));
        }
      }
      List<Violation> violations = new ArrayList<>(checker.violations());
      List<Violation> expected = c.ctx == null ? List.of() : c.ctx.findings();
      violations.addAll(expected);
      return new ScenarioRun(
          scenario,
          factory.name(),
          variant,
          result,
          violations,
          checker.violationCount() + expected.size(),
          warnings,
          c.stats.snapshot());
    }
  }

  private static final class Capture {
    final ScenarioStats stats = new ScenarioStats();
    volatile @Nullable SimMachine machine;
    volatile @Nullable ScenarioContext ctx;
  }
}
