package io.mmulab.sim.hfi;

import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.ArrayDeque;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The send DMA engine: a descriptor ring the driver posts to and one engine thread (started with
 * {@link SyncRuntime#spawn}) serves in order, reading each payload from its pinned frame and
 * completing the descriptor. Descriptors posted and not yet completed are in flight, holding their
 * node.
 *
 * <p>Life cycle: {@link #start()} spawns the thread; {@link #post} queues and rings the doorbell;
 * {@link #await} sleeps until a descriptor completed; {@link #shutdown()} lets the thread serve
 * every queued descriptor and joins it. Under the deterministic runtime an engine never shut down
 * ends the run as a deadlock (its thread waits for work), so its owner must shut it down.
 *
 * <p>Locking: {@code ring} (a spin lock) guards the queue and the stop flag; {@code work} wakes the
 * thread, {@code done} wakes waiters. A completion runs on the engine thread with no engine lock
 * held and may take driver spin locks.
 */
public final class SdmaEngine {
  private final SyncRuntime runtime;
  private final PhysicalMemory memory;
  private final String deviceId;
  private final String mm;
  private final SpinLock ring;
  private final WaitQueue work;
  private final WaitQueue done;
  private final ArrayDeque<SdmaDescriptor> queue = new ArrayDeque<>(); // guarded by ring
  private volatile boolean stopping; // written under ring
  private volatile int queued; // written under ring; read by the thread's wait condition
  private @Nullable ThreadHandle thread; // set by start, read by shutdown (the owner's thread)

  /**
   * Creates an engine with an empty ring and no thread yet.
   *
   * @param runtime where the thread, locks and waits come from
   * @param memory the memory payloads are read from
   * @param deviceId the checker's name of the send side; names the thread and locks
   * @param mm the address space the descriptors' addresses belong to
   */
  public SdmaEngine(SyncRuntime runtime, PhysicalMemory memory, String deviceId, String mm) {
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.memory = Objects.requireNonNull(memory, "memory is null");
    this.deviceId = Objects.requireNonNull(deviceId, "deviceId is null");
    this.mm = Objects.requireNonNull(mm, "mm is null");
    this.ring = runtime.newSpinLock(deviceId + ".ring");
    this.work = runtime.newWaitQueue(deviceId + ".work");
    this.done = runtime.newWaitQueue(deviceId + ".done");
  }

  /**
   * Spawns the engine thread.
   *
   * @throws IllegalStateException if it was started already
   */
  public void start() {
    if (thread != null) {
      throw new IllegalStateException(deviceId + " engine started twice");
    }
    thread = runtime.spawn(deviceId + ".engine", this::serveUntilStopped);
  }

  /**
   * Puts a descriptor on the ring and rings the doorbell.
   *
   * @param d the descriptor
   * @throws IllegalStateException if the engine is shutting down
   */
  public void post(SdmaDescriptor d) {
    Objects.requireNonNull(d, "descriptor is null");
    ring.lock();
    try {
      if (stopping) {
        throw new IllegalStateException(deviceId + " engine is shut down; " + d + " not posted");
      }
      queue.add(d);
      queued = queue.size();
    } finally {
      ring.unlock();
    }
    work.wakeUpAll();
  }

  /**
   * Sleeps until {@code d} completed.
   *
   * @param d a posted descriptor
   */
  public void await(SdmaDescriptor d) {
    done.waitEvent(d::done);
  }

  /**
   * Sleeps until {@code d} completed or {@code timeoutNanos} passed.
   *
   * @param d a posted descriptor
   * @param timeoutNanos the most to wait
   * @return whether it completed
   */
  public boolean await(SdmaDescriptor d, long timeoutNanos) {
    return done.waitEventTimeout(d::done, timeoutNanos);
  }

  /** Serves every descriptor already queued, then stops and joins the thread. Idempotent. */
  public void shutdown() {
    ring.lock();
    try {
      stopping = true;
    } finally {
      ring.unlock();
    }
    work.wakeUpAll();
    if (thread != null) {
      thread.join();
    }
  }

  private void serveUntilStopped() {
    while (true) {
      work.waitEvent(() -> queued > 0 || stopping);
      SdmaDescriptor d;
      ring.lock();
      try {
        d = queue.poll();
        queued = queue.size();
        if (d == null && stopping) {
          return;
        }
      } finally {
        ring.unlock();
      }
      if (d != null) {
        serve(d);
        done.wakeUpAll();
      }
    }
  }

  private void serve(SdmaDescriptor d) {
    for (int k = 0; k < d.words(); k++) {
      runtime.yieldPoint(deviceId + " SDMA read 0x" + Long.toHexString(d.va() + 8L * k));
      d.put(k, memory.deviceReadLong(deviceId, d.operation(), mm, d.va() + 8L * k, d.pfn()));
    }
    d.complete();
  }
}
