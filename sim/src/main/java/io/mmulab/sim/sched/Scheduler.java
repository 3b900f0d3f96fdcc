package io.mmulab.sim.sched;

import io.mmulab.core.LockDep;
import io.mmulab.sim.sched.SimThread.State;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The heart of the deterministic runtime: thread states, the baton, the trace, the choices, virtual
 * time, deadlock and livelock detection.
 *
 * <p><b>Concurrency.</b> Each simulated thread is a Java thread (virtual or platform, {@link
 * SchedulerConfig#threads()}), but at most one of them runs simulated code at any time: the one
 * named by the volatile {@link #current}, the <i>baton holder</i>. Every other simulated thread is
 * parked ({@link LockSupport#park}) in {@link #awaitTurn}, in a loop that only exits when {@code
 * current} names it (or when it is told to die). The holder passes the baton at a scheduling point
 * by writing the chosen thread to {@code current} and unparking it, then parking itself the same
 * way; a thread that ends passes the baton and returns without parking. Only the holder writes
 * {@code current}, so exactly one simulated thread is between two scheduling points at any time.
 * The holder's volatile write of {@code current} and the next holder's volatile read of it are a
 * happens-before edge, so all scheduler state and all state of the simulated program is visible to
 * the next holder without further synchronization: the fields below that are not marked otherwise
 * are touched only by the baton holder, or by the runner thread after the run is over.
 *
 * <p>The runner (the thread that called {@link #run}) is not simulated. On platform threads it
 * parks until some holder ends the run ({@link #over}) and unparks it; with its own {@link
 * RunCarrier} it carries the virtual threads itself until then. It then tears the remaining threads
 * down one at a time: it sets a thread's {@link SimThread#killRequested}, unparks it and waits for
 * it to end before the next, so even teardown runs one thread at a time. A thread told to die
 * throws the private {@link Killed} error from its parking loop and from every later runtime call.
 *
 * <p>Nothing that affects the schedule or the trace depends on identity hash codes, wall-clock time
 * or hash iteration order: threads are kept in creation order and the only hash set is used for
 * lookups.
 */
final class Scheduler {
  /** Which simulated thread (of any scheduler) the calling platform thread is. */
  private static final ThreadLocal<SimThread> CURRENT = new ThreadLocal<>();

  /** How long teardown waits for one killed thread to unwind, in real time. */
  private static final long KILL_JOIN_MILLIS = 10_000;

  private static final int REPORT_TAIL = 12;

  /** Thrown into simulated threads to end them when the run is over. */
  private static final class Killed extends Error {
    private static final long serialVersionUID = 1L;

    Killed() {
      super("simulated thread killed: the run is over", null, false, false);
    }
  }

  private static final Killed KILLED = new Killed();

  private final SchedulerConfig config;
  private final ScheduleSource source;
  private final FaultInjector faults;

  /** The baton holder: written only by the holder (or the runner before and after the run). */
  private volatile @Nullable SimThread current;

  /** Set once by the holder that ends the run; read by the runner. */
  private volatile boolean over;

  /** Runner only. */
  private boolean started;

  /** The thread that called {@link #run}. */
  private @Nullable Thread runner;

  /** The run's own carrier of virtual threads, or null (platform threads, or the shared pool). */
  private @Nullable RunCarrier carrier;

  private final List<SimThread> threads = new ArrayList<>();

  /** The threads that have not finished, in creation order: what every per-step scan walks. */
  private final List<SimThread> live = new ArrayList<>();

  /** Runnable candidates of the current pick, reused from step to step. */
  private SimThread[] candidates = new SimThread[8];

  /**
   * No blocked thread has a deadline before this (a lower bound: a thread woken early may have left
   * it lower than the true minimum, which costs one scan, never a missed wake-up).
   */
  private long nextDeadline = SimThread.NO_DEADLINE;

  /** Every lock of the run, for saying what each thread holds when the run is stuck. */
  private final List<Waitable> locks = new ArrayList<>();

  private final Set<String> names = new HashSet<>();
  private final List<TraceEntry> trace = new ArrayList<>(4096);
  private final List<Integer> choices = new ArrayList<>(1024);
  private long steps;
  private volatile long now;

  private @Nullable Outcome outcome;
  private @Nullable Throwable failure;
  private @Nullable String failedThread;
  private @Nullable String report;
  private @Nullable String stall;

  private final Waitable sleepTarget = waiter -> "its sleep to end at " + waiter.deadline + " ns";

  Scheduler(SchedulerConfig config, ScheduleSource source) {
    this.config = Objects.requireNonNull(config, "config is null");
    this.source = Objects.requireNonNull(source, "source is null");
    this.faults = new FaultInjector(config.faults(), config.seed());
  }

  SchedulerConfig config() {
    return config;
  }

  FaultInjector faults() {
    return faults;
  }

  long now() {
    return now;
  }

  /** Returns the deadline {@code timeoutNanos} from now, saturating at "no deadline". */
  long deadline(long timeoutNanos) {
    long t = now;
    return timeoutNanos >= SimThread.NO_DEADLINE - t ? SimThread.NO_DEADLINE : t + timeoutNanos;
  }

  // ---------------------------------------------------------------------------------------------
  // Run and teardown (runner thread)

  RunResult run(Runnable main) {
    Objects.requireNonNull(main, "main is null");
    if (CURRENT.get() != null) {
      throw new IllegalStateException("run called from inside a simulated thread");
    }
    synchronized (this) {
      if (started) {
        throw new IllegalStateException("a DeterministicRuntime runs only once");
      }
      started = true;
    }
    runner = Thread.currentThread();
    carrier = ownCarrierPossible() ? new RunCarrier() : null;
    SimThread m = newThread("main", main);
    current = m;
    m.java.start();
    if (carrier != null) {
      carrier.runUntil(() -> over, Long.MAX_VALUE);
    } else {
      parkUntil(() -> over);
    }
    // Nothing is recorded once the run is over (see trace), so the list is handed over uncopied.
    Trace finalTrace = Trace.adopt(trace);
    List<Integer> finalChoices = List.copyOf(choices);
    long finalSteps = steps;
    long finalNow = now;
    List<String> leaked = teardown();
    String text = Objects.requireNonNull(report, "endRun built the report");
    if (!leaked.isEmpty()) {
      text +=
          "  WARNING: simulated threads that did not unwind after being killed: " + leaked + "\n";
    }
    return new RunResult(
        Objects.requireNonNull(outcome, "a finished run has an outcome"),
        finalTrace,
        finalChoices,
        failure,
        failedThread,
        text,
        stall,
        finalSteps,
        finalNow,
        config);
  }

  private List<String> teardown() {
    List<String> leaked = new ArrayList<>();
    for (SimThread t : threads) {
      t.killRequested = true;
      LockSupport.unpark(t.java);
      boolean unwound =
          carrier == null
              ? joinQuietly(t.java)
              : carrier.runUntil(
                  () -> !t.java.isAlive(), TimeUnit.MILLISECONDS.toNanos(KILL_JOIN_MILLIS));
      if (!unwound) {
        leaked.add(t.name);
      }
    }
    return leaked;
  }

  /**
   * Whether this run's virtual threads can ride on the caller: only a platform thread can carry
   * virtual threads.
   */
  private boolean ownCarrierPossible() {
    return config.threads() == ThreadKind.VIRTUAL
        && ThreadKind.ownCarrierAvailable()
        && !ThreadKind.isVirtual(Thread.currentThread());
  }

  /** Parks the calling thread until {@code done} holds, uninterruptibly. */
  private static void parkUntil(BooleanSupplier done) {
    boolean interrupted = false;
    while (!done.getAsBoolean()) {
      LockSupport.park(Scheduler.class);
      interrupted |= Thread.interrupted();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static boolean joinQuietly(Thread t) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(KILL_JOIN_MILLIS);
    boolean interrupted = false;
    try {
      while (t.isAlive()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          TimeUnit.NANOSECONDS.timedJoin(t, left);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      return true;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Simulated threads

  /** The body of every simulated thread's platform thread. */
  void threadMain(SimThread self) {
    CURRENT.set(self);
    try {
      awaitTurn(self);
      Throwable thrown = null;
      try {
        self.body.run();
      } catch (Throwable t) {
        thrown = t;
      }
      if (self.killRequested) {
        return;
      }
      finish(self, thrown);
    } catch (Killed k) {
      // torn down at the end of the run
    } finally {
      CURRENT.remove();
    }
  }

  /** Parks the caller until it holds the baton; throws when killed. */
  private void awaitTurn(SimThread self) {
    boolean interrupted = false;
    while (current != self && !self.killRequested) {
      LockSupport.park(this);
      interrupted |= Thread.interrupted();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (self.killRequested) {
      throw KILLED;
    }
  }

  private SimThread newThread(String requested, Runnable body) {
    Objects.requireNonNull(requested, "name is null");
    Objects.requireNonNull(body, "body is null");
    String name = requested;
    for (int n = 2; names.contains(name); n++) {
      name = requested + "#" + n;
    }
    names.add(name);
    SimThread t = new SimThread(this, threads.size(), name, body, config.threads(), carrier);
    threads.add(t);
    live.add(t);
    return t;
  }

  /**
   * Returns the calling simulated thread of this scheduler.
   *
   * @throws IllegalStateException if the caller is not one
   */
  SimThread self() {
    SimThread t = CURRENT.get();
    if (t == null || t.scheduler != this) {
      throw new IllegalStateException(
          "not a simulated thread of this DeterministicRuntime: "
              + Thread.currentThread().getName());
    }
    if (t.killRequested) {
      throw KILLED;
    }
    return t;
  }

  /** Returns the calling simulated thread of this scheduler, or null. */
  @Nullable SimThread currentOrNull() {
    SimThread t = CURRENT.get();
    return t != null && t.scheduler == this ? t : null;
  }

  SimThread spawn(String name, Runnable body) {
    SimThread self = self();
    SimThread t = newThread(name, body);
    t.java.start();
    reschedule(self, "spawn " + t.name);
    return t;
  }

  void join(SimThread target) {
    SimThread self = currentOrNull();
    if (self == null) {
      if (target.killRequested && target.state != State.DONE) {
        throw new IllegalStateException(
            "simulated thread " + target.name + " was killed when the run ended");
      }
      if (target.state != State.DONE) {
        throw new IllegalStateException(
            "join of running simulated thread " + target.name + " from outside the simulation");
      }
    } else {
      self();
      reschedule(self, "join " + target.name);
      while (target.state != State.DONE) {
        block(self, "blocked on join " + target.name, target, null, SimThread.NO_DEADLINE);
      }
    }
    Throwable t = target.failure;
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    if (t != null) {
      throw new IllegalStateException("thread " + target.name + " failed", t);
    }
  }

  private void finish(SimThread self, @Nullable Throwable thrown) {
    self.state = State.DONE;
    live.remove(self);
    self.failure = thrown;
    wakeAll(self);
    if (thrown != null) {
      trace(self, "failed: " + thrown);
      endRun(self, Outcome.FAILED, thrown);
      return;
    }
    reschedule(self, "end");
  }

  // ---------------------------------------------------------------------------------------------
  // Scheduling points (baton holder)

  /** Records {@code label} for the calling simulated thread without switching. */
  void note(String label) {
    trace(self(), Objects.requireNonNull(label, "label is null"));
  }

  /**
   * Records {@code label} for the calling thread if it is a live simulated thread of this
   * scheduler; a no-op anywhere else (a journal detail must never fail the code that reports it).
   */
  void noteQuietly(Supplier<String> label) {
    SimThread t = CURRENT.get();
    if (t != null && t.scheduler == this && !t.killRequested) {
      trace(t, label.get());
    }
  }

  /** Records an event that is not a scheduling point. */
  void trace(SimThread self, String label) {
    if (over) {
      return; // teardown: a killed thread's last words are not part of the run
    }
    trace.add(new TraceEntry(steps, now, self.name, label));
  }

  /** An extra scheduling point before a lock acquisition, if the fault plan says so. */
  void maybeExtraYield(SimThread self, String lockName) {
    if (faults.extraYieldBeforeLock()) {
      reschedule(self, "extra yield before " + lockName);
    }
  }

  /**
   * Blocks the caller on {@code on} until another thread wakes it ({@link #wakeAll}), a spurious
   * wake-up hits it, or virtual time reaches {@code deadline}. Callers re-check their condition.
   */
  void block(SimThread self, String label, Waitable on, @Nullable String mode, long deadline) {
    self.state = State.BLOCKED;
    self.blockedOn = on;
    self.blockMode = mode;
    self.deadline = deadline;
    nextDeadline = Math.min(nextDeadline, deadline);
    reschedule(self, label);
  }

  /** Records a lock, so that a stuck run can say who holds it. */
  void registerLock(Waitable lock) {
    locks.add(lock);
  }

  /** Makes every thread blocked on {@code on} runnable; returns their names in creation order. */
  List<String> wakeAll(Waitable on) {
    List<String> woken = null;
    for (SimThread t : live) {
      if (t.state == State.BLOCKED && t.blockedOn == on) {
        wake(t);
        if (woken == null) {
          woken = new ArrayList<>(2);
        }
        woken.add(t.name);
      }
    }
    return woken == null ? List.of() : woken;
  }

  private static void wake(SimThread t) {
    t.state = State.RUNNABLE;
    t.blockedOn = null;
    t.blockMode = null;
    t.deadline = SimThread.NO_DEADLINE;
  }

  /**
   * A scheduling point of {@code self}, which may be runnable (a yield), blocked (it just blocked)
   * or done (it just ended). Records {@code label}, advances the step counter and the clock,
   * applies faults, then passes the baton to the chosen thread and, unless {@code self} is done,
   * returns once {@code self} holds the baton again.
   */
  void reschedule(SimThread self, String label) {
    trace(self, label);
    self.lastLabel = label;
    steps++;
    if (steps > config.maxSteps()) {
      endRun(self, Outcome.LIVELOCK, null);
      return;
    }
    now += config.nanosPerStep();
    wakeExpired();
    maybeSpuriousWakeup();
    SimThread next = pick(self);
    if (next == null && advanceToEarliestDeadline()) {
      next = pick(self);
    }
    if (next == null) {
      endRun(self, allDone() ? Outcome.OK : Outcome.DEADLOCK, null);
      return;
    }
    if (next == self) {
      return;
    }
    current = next;
    LockSupport.unpark(next.java);
    if (self.state != State.DONE) {
      awaitTurn(self);
    }
  }

  /** Picks among the runnable threads: the caller first, then the others in creation order. */
  private @Nullable SimThread pick(SimThread self) {
    if (candidates.length < live.size() + 1) {
      candidates = new SimThread[Math.max(live.size() + 1, candidates.length * 2)];
    }
    int n = 0;
    if (self.state == State.RUNNABLE) {
      candidates[n++] = self;
    }
    for (SimThread t : live) {
      if (t != self && t.state == State.RUNNABLE) {
        candidates[n++] = t;
      }
    }
    if (n == 0) {
      return null;
    }
    if (n == 1) {
      return candidates[0];
    }
    int c = Math.floorMod(source.choose(n), n);
    choices.add(c);
    return candidates[c];
  }

  private void wakeExpired() {
    if (now < nextDeadline) {
      return;
    }
    long earliest = SimThread.NO_DEADLINE;
    for (SimThread t : live) {
      if (t.state == State.BLOCKED) {
        if (t.deadline <= now) {
          wake(t);
        } else {
          earliest = Math.min(earliest, t.deadline);
        }
      }
    }
    nextDeadline = earliest;
  }

  /**
   * Wakes one wait-queue or completion sleeper, if the fault plan says so. Only while some thread
   * is runnable: a program whose only progress would be spurious wake-ups is still a deadlock.
   */
  private void maybeSpuriousWakeup() {
    if (!faults.spuriousWakeupsPlanned()) {
      return; // the decision below would draw nothing from the fault stream either
    }
    List<SimThread> sleepers = new ArrayList<>();
    boolean anyRunnable = false;
    for (SimThread t : live) {
      if (t.state == State.RUNNABLE) {
        anyRunnable = true;
      } else if (t.state == State.BLOCKED && t.waitable().spuriousWakeable()) {
        sleepers.add(t);
      }
    }
    if (!anyRunnable || sleepers.isEmpty() || !faults.spuriousWakeup()) {
      return;
    }
    SimThread t = sleepers.get(faults.spuriousTarget(sleepers.size()));
    trace(t, "spurious wake-up (" + t.waitable().describeWait(t) + ")");
    wake(t);
  }

  /** Moves the clock to the earliest deadline of a blocked thread; false if there is none. */
  private boolean advanceToEarliestDeadline() {
    long earliest = SimThread.NO_DEADLINE;
    for (SimThread t : live) {
      if (t.state == State.BLOCKED && t.deadline < earliest) {
        earliest = t.deadline;
      }
    }
    if (earliest == SimThread.NO_DEADLINE) {
      return false;
    }
    now = Math.max(now, earliest);
    wakeExpired();
    return true;
  }

  private boolean allDone() {
    return live.isEmpty();
  }

  /**
   * Ends the run with {@code result} (the first end wins), wakes the runner and, unless {@code
   * self} is done, parks {@code self} until it is killed.
   */
  private void endRun(SimThread self, Outcome result, @Nullable Throwable thrown) {
    if (outcome == null) {
      outcome = result;
      failure = thrown;
      failedThread = thrown == null ? null : self.name;
      report = buildReport();
      stall = result == Outcome.DEADLOCK || result == Outcome.LIVELOCK ? describeStall() : null;
    }
    current = null;
    over = true;
    LockSupport.unpark(runner);
    if (self.state != State.DONE) {
      awaitTurn(self);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reports

  private String buildReport() {
    StringBuilder sb = new StringBuilder();
    sb.append(outcome)
        .append(" after ")
        .append(steps)
        .append(" steps at virtual time ")
        .append(now)
        .append(" ns (seed ")
        .append(config.seed())
        .append(")");
    switch (Objects.requireNonNull(outcome, "a finished run has an outcome")) {
      case OK -> sb.append(": every simulated thread finished");
      case FAILED -> sb.append(": thread ").append(failedThread).append(" threw ").append(failure);
      case DEADLOCK -> sb.append(": no simulated thread can run and none has a deadline");
      case LIVELOCK ->
          sb.append(": more than maxSteps=")
              .append(config.maxSteps())
              .append(" scheduling points without finishing");
    }
    sb.append('\n');
    for (SimThread t : threads) {
      sb.append("  ")
          .append(t.name)
          .append(": ")
          .append(stateOf(t))
          .append(" [last: ")
          .append(t.lastLabel)
          .append("]\n");
    }
    if (outcome != Outcome.OK && !trace.isEmpty()) {
      sb.append("  last events:\n");
      for (int i = Math.max(0, trace.size() - REPORT_TAIL); i < trace.size(); i++) {
        sb.append("    ").append(trace.get(i)).append('\n');
      }
    }
    return sb.toString();
  }

  /**
   * Describes a stuck run: for a deadlock the cycle of waits first (following each waiter to the
   * threads holding what it waits for, or queued before it), then every thread that has not
   * finished, with what it waits for and the locks it holds.
   */
  private String describeStall() {
    StringBuilder sb = new StringBuilder();
    if (outcome == Outcome.DEADLOCK) {
      List<SimThread> cycle = findCycle();
      sb.append(
          cycle.isEmpty()
              ? "no thread can run and no timeout is pending (nobody will signal what they wait"
                  + " for)"
              : "a cycle of waits: "
                  + String.join(" → ", cycle.stream().map(t -> t.name).toList())
                  + " → "
                  + cycle.get(0).name);
    } else {
      sb.append("more than ").append(config.maxSteps()).append(" scheduling points");
    }
    for (SimThread t : live) {
      sb.append("; ").append(t.name).append(' ').append(stateOf(t));
      List<String> held = heldBy(t);
      if (!held.isEmpty()) {
        sb.append(", holding ").append(String.join(", ", held));
      }
    }
    return sb.toString();
  }

  /** The first cycle found by following blocked threads to the holders of what they wait for. */
  private List<SimThread> findCycle() {
    for (SimThread start : live) {
      List<SimThread> path = new ArrayList<>();
      SimThread cur = start;
      while (cur != null && cur.state == State.BLOCKED && !path.contains(cur)) {
        path.add(cur);
        SimThread next = null;
        for (SimThread h : cur.waitable().blockers(cur)) {
          if (h != cur && h.state == State.BLOCKED) {
            next = h;
            break;
          }
        }
        cur = next;
      }
      if (cur != null && path.contains(cur)) {
        return path.subList(path.indexOf(cur), path.size());
      }
    }
    return List.of();
  }

  private List<String> heldBy(SimThread t) {
    List<String> out = new ArrayList<>();
    for (Waitable l : locks) {
      if (l.holders().contains(t)) {
        out.add(l.toString());
      }
    }
    return out;
  }

  /** Describes what {@code t} is doing, naming what it waits on. */
  String stateOf(SimThread t) {
    return switch (t.state) {
      case RUNNABLE -> "runnable";
      case DONE -> t.failure == null ? "finished" : "failed with " + t.failure;
      case BLOCKED ->
          "waits for "
              + t.waitable().describeWait(t)
              + (t.deadline == SimThread.NO_DEADLINE || t.blockedOn == sleepTarget
                  ? ""
                  : " (times out at " + t.deadline + " ns)");
    };
  }

  /** Like {@link #stateOf} without naming what a blocked thread waits on (no recursion). */
  String shortState(SimThread t) {
    return switch (t.state) {
      case RUNNABLE -> "runnable";
      case DONE -> "finished";
      case BLOCKED -> "blocked";
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Clock

  void sleep(long nanos) {
    SimThread self = self();
    if (nanos < 0) {
      throw new IllegalArgumentException("negative sleep " + nanos);
    }
    LockDep.mightSleep("sleeping " + nanos + " ns");
    if (nanos == 0) {
      reschedule(self, "sleep 0 ns");
      return;
    }
    long deadline = deadline(nanos);
    while (now < deadline) {
      block(self, "sleep until " + deadline + " ns", sleepTarget, null, deadline);
    }
  }
}
