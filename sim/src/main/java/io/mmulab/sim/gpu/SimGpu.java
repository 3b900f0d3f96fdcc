package io.mmulab.sim.gpu;

import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.dev.DmaEngine;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.dev.DmaJob;
import io.mmulab.sim.dev.FaultQueue;
import io.mmulab.sim.dev.FenceTimeline;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A simulated GPU: a command streamer (a {@link DmaEngine} named {@code <name>.ring}, with its
 * {@link FenceTimeline}) that runs {@link GpuJob}s through the translations of per-process {@link
 * GpuVm}s, each a checker device declared with the GPU's {@link CoherencyModel}; with {@code
 * replayableFaults}, each VM has a {@link FaultQueue} and a job touching an unbound page waits for
 * the driver to replay or cancel the fault (nouveau); otherwise the job fails with {@code EFAULT}.
 *
 * <p>The engine threads start in the constructor: <b>{@link #shutdown()} must be called</b> (under
 * the deterministic runtime idle engine threads and open fault queues otherwise end the run as a
 * deadlock).
 *
 * <p>Locking: {@code vms} is guarded by the object's monitor (never held across a runtime call, so
 * invisible to the scheduler); the engine, VMs, BOs and resvs have their own locks (see each).
 * {@link #submit} takes only the resv spin locks (leaves) and the ring; it may wait for ring space,
 * so it must not be called with a spin lock held.
 */
public final class SimGpu {
  /** Ring slots of the default command streamer. */
  public static final int DEFAULT_RING_CAPACITY = 64;

  private final SimMachine machine;
  private final String name;
  private final CoherencyModel model;
  private final boolean replayableFaults;
  private final DmaEngine engine;
  private final List<GpuVm> vms = new ArrayList<>(); // guarded by this

  /**
   * Creates a GPU with one engine thread and a ring of {@link #DEFAULT_RING_CAPACITY} slots, and
   * starts it.
   *
   * @param machine the machine (runtime, memory, checker)
   * @param name names the VMs' devices ({@code <name>.vm<n>}), the ring and its fences
   * @param model the coherence model every VM is declared with
   * @param replayableFaults whether GPU page faults are queued for replay
   */
  public SimGpu(SimMachine machine, String name, CoherencyModel model, boolean replayableFaults) {
    this(machine, name, model, replayableFaults, DEFAULT_RING_CAPACITY, 1);
  }

  /**
   * Creates a GPU and starts its engine threads.
   *
   * @param machine the machine (runtime, memory, checker)
   * @param name names the VMs' devices ({@code <name>.vm<n>}), the ring and its fences
   * @param model the coherence model every VM is declared with
   * @param replayableFaults whether GPU page faults are queued for replay
   * @param ringCapacity ring slots, at least 2
   * @param engineThreads engine threads, at least 1 (one completes jobs in submission order)
   */
  public SimGpu(
      SimMachine machine,
      String name,
      CoherencyModel model,
      boolean replayableFaults,
      int ringCapacity,
      int engineThreads) {
    this.machine = Objects.requireNonNull(machine, "machine is null");
    this.name = Objects.requireNonNull(name, "name is null");
    this.model = Objects.requireNonNull(model, "model is null");
    this.replayableFaults = replayableFaults;
    this.engine = new DmaEngine(machine.runtime(), name + ".ring", ringCapacity, engineThreads);
    engine.start();
  }

  /**
   * Returns the name.
   *
   * @return the name
   */
  public String name() {
    return name;
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
   * Returns the runtime.
   *
   * @return the machine's runtime
   */
  public SyncRuntime runtime() {
    return machine.runtime();
  }

  /**
   * Returns the physical memory.
   *
   * @return the machine's memory
   */
  public PhysicalMemory memory() {
    return machine.memory();
  }

  /**
   * Returns the coherence model of the VMs.
   *
   * @return the model
   */
  public CoherencyModel model() {
    return model;
  }

  /**
   * Tells whether GPU page faults are replayable.
   *
   * @return true if each VM has a fault queue
   */
  public boolean replayableFaults() {
    return replayableFaults;
  }

  /**
   * Returns the command streamer.
   *
   * @return the engine
   */
  public DmaEngine engine() {
    return engine;
  }

  /**
   * Returns the timeline the job fences come from.
   *
   * @return the engine's timeline
   */
  public FenceTimeline timeline() {
    return engine.timeline();
  }

  /**
   * Creates a GPU VM mirroring {@code process} (device {@code <name>.vm<n>}, n = 0, 1, …).
   *
   * @param process the process
   * @return the VM
   */
  public GpuVm newVm(SimProcess process) {
    Objects.requireNonNull(process, "process is null");
    int index;
    synchronized (this) {
      index = vms.size();
      vms.add(null); // reserve the index
    }
    GpuVm vm = new GpuVm(this, process, index);
    synchronized (this) {
      vms.set(index, vm);
    }
    return vm;
  }

  /**
   * Returns the VMs created so far.
   *
   * @return a snapshot, by index
   */
  public synchronized List<GpuVm> vms() {
    return List.copyOf(vms.stream().filter(Objects::nonNull).toList());
  }

  /**
   * Submits {@code job} on {@code vm}: its fence is added to {@code vm.resv()} and to each BO's
   * resv before the job reaches the ring, then the engine runs the job's accesses through the VM's
   * translations and signals the fence after the last one. Waits while the ring is full.
   *
   * @param vm a VM of this GPU
   * @param job a job not submitted before
   * @param bos the buffer objects the job uses (their resvs get the fence); may be empty
   * @return the job's fence
   * @throws IllegalStateException if the GPU is shut down, or the job was already submitted
   */
  public DmaFence submit(GpuVm vm, GpuJob job, List<GpuBo> bos) {
    Objects.requireNonNull(vm, "vm is null");
    Objects.requireNonNull(job, "job is null");
    List<GpuBo> objects = List.copyOf(bos);
    if (vm.gpu() != this) {
      throw new IllegalArgumentException(
          vm + " belongs to GPU " + vm.gpu().name() + ", not " + name);
    }
    DmaJob dmaJob = job.toDmaJob(vm);
    return engine.submit(
        dmaJob,
        fence -> {
          vm.resv().addFence(fence);
          for (GpuBo bo : objects) {
            bo.resv().addFence(fence);
          }
        });
  }

  /**
   * Stops the GPU: runs every queued job, joins the engine threads, then closes every VM's fault
   * queue. A job blocked on a fault nobody resolves keeps this waiting: stop the fault handler
   * after this, or use {@link #shutdownNow()}. Idempotent; not in atomic context, not from an
   * engine or fault-handler thread. VMs are not torn down ({@link GpuVm#tearDown()}).
   */
  public void shutdown() {
    engine.shutdown();
    closeFaultQueues();
  }

  /**
   * Stops the GPU now: closes every VM's fault queue (jobs blocked on faults fail with {@code
   * EFAULT}), cancels queued jobs ({@code EINTR}) and joins the engine threads. Idempotent.
   */
  public void shutdownNow() {
    closeFaultQueues();
    engine.shutdownNow();
  }

  private void closeFaultQueues() {
    for (GpuVm vm : vms()) {
      FaultQueue q = vm.faultQueue();
      if (q != null) {
        q.close();
      }
    }
  }

  @Override
  public String toString() {
    return "SimGpu[" + name + ", " + model + (replayableFaults ? ", replayable faults" : "") + "]";
  }
}
