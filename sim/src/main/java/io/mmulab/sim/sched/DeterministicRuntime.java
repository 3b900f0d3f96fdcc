package io.mmulab.sim.sched;

import io.mmulab.api.sync.Clock;
import io.mmulab.api.sync.Completion;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import java.util.function.Supplier;

/**
 * The deterministic {@link SyncRuntime}: exactly one simulated thread runs at a time, and at every
 * scheduling point a {@link ScheduleSource} (seeded or replaying a recorded choice list) picks the
 * next. Same config and choices ⇒ identical {@link Trace}.
 *
 * <p>Scheduling points: {@link #yieldPoint}; every lock acquisition attempt, blocking or try
 * (before the attempt; plus an optional extra one from {@link FaultPlan#extraYieldBeforeLock()});
 * every release (after it, so a woken waiter may run first); {@code waitEvent} before each
 * evaluation of the condition; {@code wakeUpAll}, {@code complete}, {@code completeAll} (after
 * them); {@code waitForCompletion} (before checking); {@link Clock#sleep}; {@link #spawn} (the new
 * thread may run first); {@link ThreadHandle#join}; blocking; thread end. Reading the clock, {@code
 * isDone}, {@code isHeldByCurrentThread} and fault queries are not.
 *
 * <p>Virtual time starts at 0 and advances by {@link SchedulerConfig#nanosPerStep()} at every
 * scheduling point; when nothing can run but some thread sleeps or waits with a timeout, it jumps
 * to the earliest deadline. Nothing runnable and no deadline is a {@link Outcome#DEADLOCK}; more
 * than {@link SchedulerConfig#maxSteps()} scheduling points is a {@link Outcome#LIVELOCK}; the
 * first throwable escaping a simulated thread ends the run as {@link Outcome#FAILED}. In every case
 * the remaining threads are killed (an internal {@link Error} thrown at their current scheduling
 * point and at every later runtime call) and joined before {@link #run} returns.
 *
 * <p>Every lock and wait reports to {@code io.mmulab.core.LockDep} exactly as {@code
 * RealSyncRuntime} does; each simulated thread is its own platform thread (named {@link
 * #THREAD_NAME_PREFIX} + its name), so LockDep's thread-local state works per simulated thread.
 *
 * <p>A runtime runs once. Locks and other objects may be created before {@link #run}, but every
 * operation on them must come from a simulated thread of this runtime.
 */
public final class DeterministicRuntime implements SyncRuntime {
  /** Prefix of the platform thread names of simulated threads. */
  public static final String THREAD_NAME_PREFIX = "sim/";

  private final Scheduler scheduler;
  private final Clock clock;

  /** Set once, before or while the run starts; read by every journal call. */
  private volatile boolean journaling;

  /**
   * Creates a runtime whose schedule is drawn at random from {@code config.seed()}.
   *
   * @param config the config
   */
  public DeterministicRuntime(SchedulerConfig config) {
    this(config, ScheduleSource.random(config.seed()));
  }

  /**
   * Creates a runtime whose schedule comes from {@code source}; fault decisions still come from
   * {@code config.seed()}.
   *
   * @param config the config
   * @param source the choices
   */
  public DeterministicRuntime(SchedulerConfig config, ScheduleSource source) {
    this.scheduler = new Scheduler(config, source);
    Scheduler s = scheduler;
    this.clock =
        new Clock() {
          @Override
          public long nanoTime() {
            return s.now();
          }

          @Override
          public void sleep(long nanos) {
            s.sleep(nanos);
          }
        };
  }

  /**
   * Creates a runtime that replays {@code choices} (then never preempts).
   *
   * @param config the config (its seed still drives the faults)
   * @param choices a recorded choice list
   * @return a new runtime
   */
  public static DeterministicRuntime replaying(SchedulerConfig config, int... choices) {
    return new DeterministicRuntime(config, ScheduleSource.replay(choices));
  }

  /**
   * Runs {@code main} as simulated thread {@code "main"} and returns when every simulated thread
   * has finished, or at the first failure, deadlock or livelock. No simulated thread is left
   * running or parked afterwards.
   *
   * @param main the program; it may {@link #spawn} more threads
   * @return the outcome, trace, choices and report
   * @throws IllegalStateException if this runtime already ran, or if called from a simulated thread
   */
  public RunResult run(Runnable main) {
    return scheduler.run(main);
  }

  /**
   * Returns the config.
   *
   * @return the config
   */
  public SchedulerConfig config() {
    return scheduler.config();
  }

  /**
   * Returns the fault knobs of this run, for device models.
   *
   * @return the injector
   */
  public FaultInjector faults() {
    return scheduler.faults();
  }

  @Override
  public Mutex newMutex(String name) {
    return new DetMutex(scheduler, name);
  }

  @Override
  public SpinLock newSpinLock(String name) {
    return new DetSpinLock(scheduler, name);
  }

  @Override
  public RwSemaphore newRwSemaphore(String name) {
    return new DetRwSemaphore(scheduler, name);
  }

  @Override
  public WaitQueue newWaitQueue(String name) {
    return new DetWaitQueue(scheduler, name);
  }

  @Override
  public Completion newCompletion(String name) {
    return new DetCompletion(scheduler, name);
  }

  @Override
  public Clock clock() {
    return clock;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Traced as {@code yield <label>}.
   *
   * @throws IllegalStateException if not called from a simulated thread of this runtime
   */
  @Override
  public void yieldPoint(String label) {
    SimThread self = scheduler.self();
    scheduler.reschedule(self, "yield " + label);
  }

  /**
   * Records {@code label} in the trace for the calling simulated thread, without a scheduling
   * point: for device models and checkers that want their events in the trace.
   *
   * @param label what happened
   * @throws IllegalStateException if not called from a simulated thread of this runtime
   */
  public void note(String label) {
    scheduler.note(label);
  }

  /**
   * Makes {@link #journal} record its details from now on: the core's sequence reads and whatever
   * else reports through it. Journal entries are trace entries, never scheduling points, so a run
   * replayed with a journal takes the same schedule as without one.
   */
  public void keepJournal() {
    journaling = true;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Recorded only after {@link #keepJournal}, and only from a live simulated thread of this
   * runtime.
   */
  @Override
  public void journal(Supplier<String> label) {
    if (journaling) {
      scheduler.noteQuietly(label);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The thread's name is made unique by appending {@code #2}, {@code #3}… if needed. An uncaught
   * throwable in {@code body} ends the whole run as {@link Outcome#FAILED}.
   *
   * @throws IllegalStateException if not called from a simulated thread of this runtime
   */
  @Override
  public ThreadHandle spawn(String name, Runnable body) {
    return scheduler.spawn(name, body);
  }
}
