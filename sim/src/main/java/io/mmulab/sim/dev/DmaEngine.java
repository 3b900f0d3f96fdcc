package io.mmulab.sim.dev;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jctools.queues.MpscArrayQueue;
import org.jspecify.annotations.Nullable;

/**
 * A DMA engine: a command ring of {@link DmaJob}s (a JCTools {@link MpscArrayQueue}) filled by any
 * number of submitters and drained by engine threads started with {@link SyncRuntime#spawn}.
 *
 * <h2>Life cycle</h2>
 *
 * <ol>
 *   <li>{@link #start()} spawns the engine threads ({@code <name>.engine0}, …); jobs submitted
 *       before it wait in the ring.
 *   <li>{@link #submit} gives the job the next fence of the engine's {@link FenceTimeline}, begins
 *       its checker operations, and puts it on the ring, waiting while the ring is full.
 *   <li>An engine thread takes a job and runs its commands in order through their {@link
 *       DeviceMmu}s (each access: translate, a scheduling point, the memory access), with a
 *       scheduling point between commands, then signals the job's fence after the last access (with
 *       an error if a command failed: the rest of the job is skipped).
 *   <li>{@link #shutdown()} stops accepting jobs, lets the engine threads run every queued job, and
 *       joins them; {@link #shutdownNow()} signals every job not yet started with an error instead
 *       ({@link Errno#EINTR}, "cancelled"). A job blocked on a device page fault keeps its engine
 *       thread until the driver resolves the fault or closes the {@link FaultQueue}.
 * </ol>
 *
 * <p>Engine threads sleep on a runtime wait queue while the ring is empty and exit on shutdown, so
 * under the deterministic runtime a program that forgets to shut its engines down ends as a
 * deadlock (engine threads waiting for work nobody will submit): <b>programs must shut engines
 * down</b>.
 *
 * <p>Ordering: with one engine thread, jobs run and complete in ring order, which is submission
 * order, and fences of the timeline signal in seqno order when submitters are serialized (as the
 * kernel serializes submission under its own lock). With several threads, jobs overlap.
 *
 * <p>Fault injection (deterministic runtime): before signalling a fence the engine holds it back
 * {@code dmaCompletionDelaySteps()} scheduling points; and when it takes a job while another is
 * queued, {@code reorderDmaCompletions()} may make it take both, run them in order and signal the
 * second one's fence first.
 *
 * <p>An unchecked exception in an engine thread (a simulator or driver bug, such as a lock-rule
 * violation in a fence callback) ends the thread with the exception, after signalling the job's
 * fence with an error if it had not signaled: under the deterministic runtime the run fails; under
 * the real runtime {@link #shutdown()} rethrows it.
 *
 * <p>Locking: {@code consumerLock} (a spin lock) serializes the ring's consumers, since the queue
 * allows only one; producers need no lock. {@code state} and {@code submitting} are atomics; {@code
 * work} wakes engine threads (a job queued, or shutdown), {@code space} wakes submitters (a slot
 * freed, or shutdown). {@code threads} is guarded by {@code lifecycle}, a mutex held only by {@link
 * #start()} and the shutdown methods, which therefore must not run in atomic context.
 */
public final class DmaEngine {
  private static final int RUNNING = 0;
  private static final int DRAINING = 1;
  private static final int CANCELLING = 2;

  private final SyncRuntime runtime;
  private final String name;
  private final int threadCount;
  private final MpscArrayQueue<DmaJob> ring;
  private final FenceTimeline timeline;
  private final DeviceFaults faults;
  private final SpinLock consumerLock;
  private final WaitQueue work;
  private final WaitQueue space;
  private final Mutex lifecycle;

  private final AtomicInteger state = new AtomicInteger(RUNNING);
  private final AtomicInteger submitting = new AtomicInteger();
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();

  // Guarded by lifecycle.
  private final List<ThreadHandle> threads = new ArrayList<>();
  private boolean started;
  private boolean joined;

  /**
   * Creates a stopped engine with an empty ring.
   *
   * @param runtime where threads, locks and waits come from
   * @param name names the threads, the locks and the fence timeline (deterministically)
   * @param ringCapacity ring slots, at least 2 (rounded up to a power of two by JCTools)
   * @param engineThreads how many engine threads {@link #start()} spawns, at least 1
   */
  public DmaEngine(SyncRuntime runtime, String name, int ringCapacity, int engineThreads) {
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.name = Objects.requireNonNull(name, "name is null");
    if (ringCapacity < 2) {
      throw new IllegalArgumentException("ring capacity " + ringCapacity + " is below 2");
    }
    if (engineThreads < 1) {
      throw new IllegalArgumentException("engine threads " + engineThreads + " is below 1");
    }
    this.threadCount = engineThreads;
    this.ring = new MpscArrayQueue<>(ringCapacity);
    this.timeline = new FenceTimeline(runtime, name);
    this.faults = DeviceFaults.of(runtime);
    this.consumerLock = runtime.newSpinLock(name + ".ring");
    this.work = runtime.newWaitQueue(name + ".work");
    this.space = runtime.newWaitQueue(name + ".space");
    this.lifecycle = runtime.newMutex(name + ".lifecycle");
  }

  /**
   * Returns the engine's name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Returns the timeline the job fences come from.
   *
   * @return the timeline, named like the engine
   */
  public FenceTimeline timeline() {
    return timeline;
  }

  /**
   * Returns the ring's capacity.
   *
   * @return the number of slots
   */
  public int ringCapacity() {
    return ring.capacity();
  }

  /**
   * Returns how many jobs wait in the ring.
   *
   * @return the count (approximate while submitters and engines run)
   */
  public int queued() {
    return ring.size();
  }

  /**
   * Returns how many jobs completed successfully.
   *
   * @return the count
   */
  public long completedJobs() {
    return completed.get();
  }

  /**
   * Returns how many jobs completed with an error (failed or cancelled).
   *
   * @return the count
   */
  public long failedJobs() {
    return failed.get();
  }

  /**
   * Spawns the engine threads.
   *
   * @return this
   * @throws IllegalStateException if already started or shut down
   */
  public DmaEngine start() {
    lifecycle.lock();
    try {
      if (started || state.get() != RUNNING) {
        throw new IllegalStateException(
            "engine " + name + (started ? " already started" : " is shut down"));
      }
      started = true;
      for (int i = 0; i < threadCount; i++) {
        threads.add(runtime.spawn(name + ".engine" + i, this::engineLoop));
      }
    } finally {
      lifecycle.unlock();
    }
    return this;
  }

  /**
   * Queues {@code job}, waiting while the ring is full.
   *
   * @param job a job not submitted before
   * @return the job's fence
   * @throws IllegalStateException if the engine is shut down (before or while waiting for space;
   *     the job is then not queued and its fence is signaled with an error), or the job was already
   *     submitted
   */
  public DmaFence submit(DmaJob job) {
    return submit(job, null);
  }

  /**
   * Queues {@code job} like {@link #submit(DmaJob)}, first handing its fence to {@code
   * beforeQueued} (kernel: the fence is added to reservation objects before the job reaches the
   * ring), so that whoever {@code beforeQueued} publishes the fence to can wait for the job before
   * it can possibly run.
   *
   * @param job a job not submitted before
   * @param beforeQueued runs in the submitting thread with the job's fence, before the job is put
   *     on the ring; null for nothing. If it throws, the fence is signaled with an {@link
   *     Errno.EINTR} error and the exception propagates (the job is not queued).
   * @return the job's fence
   * @throws IllegalStateException as {@link #submit(DmaJob)}
   */
  public DmaFence submit(DmaJob job, @Nullable Consumer<DmaFence> beforeQueued) {
    Objects.requireNonNull(job, "job is null");
    submitting.incrementAndGet();
    try {
      if (state.get() != RUNNING) {
        throw new IllegalStateException("engine " + name + " is shut down; " + job + " refused");
      }
      DmaFence fence = timeline.createFence();
      job.submitted(fence);
      if (beforeQueued != null) {
        try {
          beforeQueued.accept(fence);
        } catch (RuntimeException e) {
          fence.signal(new ErrnoException(Errno.EINTR, job + " not queued: " + e));
          failed.incrementAndGet();
          throw e;
        }
      }
      while (!ring.offer(job)) {
        space.waitEvent(() -> state.get() != RUNNING || ring.size() < ring.capacity());
        if (state.get() != RUNNING) {
          fence.signal(new ErrnoException(Errno.EINTR, job + " refused: " + name + " shut down"));
          failed.incrementAndGet();
          throw new IllegalStateException(
              "engine " + name + " shut down while " + job + " waited for ring space");
        }
      }
      return fence;
    } finally {
      submitting.decrementAndGet();
      work.wakeUpAll();
    }
  }

  /**
   * Stops accepting jobs, lets the engine threads finish every queued job, and joins them.
   * Idempotent; rethrows what an engine thread died of. Must not be called from an engine thread (a
   * fence callback runs there) or with a spin lock held.
   */
  public void shutdown() {
    stop(DRAINING);
  }

  /**
   * Stops accepting jobs, signals every job not yet started with an {@link Errno#EINTR} error, lets
   * running jobs finish, and joins the engine threads. Idempotent; after {@link #shutdown()} it
   * cancels what is still queued. Same calling rules as {@link #shutdown()}.
   */
  public void shutdownNow() {
    stop(CANCELLING);
  }

  private void stop(int mode) {
    state.accumulateAndGet(mode, Math::max);
    work.wakeUpAll();
    space.wakeUpAll();
    lifecycle.lock();
    try {
      if (!started) {
        // No engine thread will ever take what is queued: cancel it once no submitter is busy.
        work.waitEvent(() -> submitting.get() == 0);
        cancelQueued();
        started = true;
      }
      if (!joined) {
        joined = true;
        for (ThreadHandle t : threads) {
          t.join();
        }
      }
    } finally {
      lifecycle.unlock();
    }
  }

  private void cancelQueued() {
    while (true) {
      DmaJob job = pollOne();
      if (job == null) {
        return;
      }
      finish(job, cancelled(job));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Engine threads

  private void engineLoop() {
    while (true) {
      work.waitEvent(() -> !ring.isEmpty() || drained());
      DmaJob first;
      DmaJob second = null;
      consumerLock.lock();
      try {
        first = ring.poll();
        if (first != null && !ring.isEmpty() && faults.reorderDmaCompletions()) {
          second = ring.poll();
        }
      } finally {
        consumerLock.unlock();
      }
      if (first == null) {
        if (drained()) {
          return;
        }
        continue;
      }
      space.wakeUpAll();
      ErrnoException e1 = runJob(first);
      if (second == null) {
        finish(first, e1);
      } else {
        ErrnoException e2 = runJob(second);
        runtime.yieldPoint(name + " completes " + second + " before " + first + " (reordered)");
        finish(second, e2);
        finish(first, e1);
      }
    }
  }

  /** True when the engine is stopping and no job can arrive any more. Read state first. */
  private boolean drained() {
    return state.get() != RUNNING && submitting.get() == 0 && ring.isEmpty();
  }

  private DmaJob pollOne() {
    consumerLock.lock();
    try {
      return ring.poll();
    } finally {
      consumerLock.unlock();
    }
  }

  /** Runs the commands of {@code job}; returns the error that stopped it, or null. */
  private @Nullable ErrnoException runJob(DmaJob job) {
    if (state.get() == CANCELLING) {
      return cancelled(job);
    }
    List<DmaCommand> cmds = job.commands();
    try {
      for (int i = 0; i < cmds.size(); i++) {
        if (i > 0) {
          runtime.yieldPoint(name + " " + job + " between commands " + (i - 1) + " and " + i);
        }
        DmaCommand c = cmds.get(i);
        if (c.kind() == DmaCommand.Kind.WAIT) {
          Objects.requireNonNull(c.gate(), "a WAIT command has a gate").waitSignaled();
          continue;
        }
        DeviceMmu mmu = Objects.requireNonNull(c.mmu(), "a READ or WRITE command has an MMU");
        long op = job.operation(mmu);
        if (c.kind() == DmaCommand.Kind.READ) {
          long[] words = new long[c.words()];
          mmu.readLongs(op, c.va(), words);
          job.setResult(i, words);
        } else {
          mmu.writeLongs(op, c.va(), c.dataRef());
        }
      }
      return null;
    } catch (ErrnoException e) {
      return e;
    } catch (RuntimeException e) {
      job.fence().signal(new ErrnoException(Errno.EFAULT, job + " crashed the engine: " + e));
      failed.incrementAndGet();
      throw e;
    }
  }

  /** Signals the job's fence after the injected completion delay. */
  private void finish(DmaJob job, @Nullable ErrnoException error) {
    int delay = faults.dmaCompletionDelaySteps();
    for (int i = 0; i < delay; i++) {
      runtime.yieldPoint(
          name + " holds back completion of " + job + " (" + (i + 1) + "/" + delay + ")");
    }
    DmaFence fence = job.fence();
    runtime.yieldPoint(name + " before signalling " + fence.name());
    if (fence.signal(error)) {
      (error == null ? completed : failed).incrementAndGet();
    }
  }

  private ErrnoException cancelled(DmaJob job) {
    return new ErrnoException(Errno.EINTR, job + " cancelled by shutdownNow of " + name);
  }

  @Override
  public String toString() {
    return "DmaEngine[" + name + "]";
  }
}
