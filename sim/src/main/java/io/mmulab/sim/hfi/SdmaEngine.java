package io.mmulab.sim.hfi;

import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.ArrayDeque;
import java.util.Objects;

/**
 * The send DMA engine: a descriptor ring the driver posts to and the engine serves in order,
 * reading each payload from its pinned frame and completing the descriptor.
 *
 * <p>Simplification: the engine has no thread of its own; it runs when kicked ({@link #kick}, the
 * doorbell the driver rings after posting, or a wait for a descriptor), on the kicking thread, one
 * kicker at a time. Descriptors posted and not yet kicked are in flight, holding their node.
 *
 * <p>Locking: {@code ring} (a spin lock) guards the queue; {@code engine} (a mutex) is held while
 * descriptors are served, so they complete in ring order. A completion runs under {@code engine}
 * and may take driver spin locks; the driver must not hold those while kicking.
 */
public final class SdmaEngine {
  private final SyncRuntime runtime;
  private final PhysicalMemory memory;
  private final String deviceId;
  private final String mm;
  private final SpinLock ring;
  private final Mutex engine;
  private final ArrayDeque<SdmaDescriptor> queue = new ArrayDeque<>(); // guarded by ring

  /**
   * Creates an idle engine.
   *
   * @param runtime where locks and scheduling points come from
   * @param memory the memory payloads are read from
   * @param deviceId the checker's name of the send side
   * @param mm the address space the descriptors' addresses belong to
   */
  public SdmaEngine(SyncRuntime runtime, PhysicalMemory memory, String deviceId, String mm) {
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.memory = Objects.requireNonNull(memory, "memory is null");
    this.deviceId = Objects.requireNonNull(deviceId, "deviceId is null");
    this.mm = Objects.requireNonNull(mm, "mm is null");
    this.ring = runtime.newSpinLock(deviceId + ".ring");
    this.engine = runtime.newMutex(deviceId + ".engine");
  }

  /**
   * Puts a descriptor on the ring.
   *
   * @param d the descriptor
   */
  public void post(SdmaDescriptor d) {
    Objects.requireNonNull(d, "descriptor is null");
    ring.lock();
    try {
      queue.add(d);
    } finally {
      ring.unlock();
    }
  }

  /** Serves every descriptor on the ring, in order, and returns when the ring is empty. */
  public void kick() {
    engine.lock();
    try {
      while (true) {
        SdmaDescriptor d;
        ring.lock();
        try {
          d = queue.poll();
        } finally {
          ring.unlock();
        }
        if (d == null) {
          return;
        }
        serve(d);
      }
    } finally {
      engine.unlock();
    }
  }

  /**
   * Returns how many descriptors wait on the ring.
   *
   * @return the count
   */
  public int pending() {
    ring.lock();
    try {
      return queue.size();
    } finally {
      ring.unlock();
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
