package io.mmulab.sim.gpu;

import io.mmulab.sim.dev.DeviceMmu;
import io.mmulab.sim.dev.FaultQueue;
import io.mmulab.sim.mm.SimProcess;
import org.jspecify.annotations.Nullable;

/**
 * A GPU virtual address space for one process (kernel: an i915 ppGTT, a radeon VM, a nouveau SVM
 * channel's VMM): one {@link DeviceMmu} (GPU page table + TLB) and, on a GPU with replayable
 * faults, one {@link FaultQueue}. It is one checker device, {@link #deviceId()} ({@code
 * <gpu>.vm<n>}), declared with the GPU's coherence model.
 *
 * <p><b>GPU VA == user VA.</b> A userptr BO is bound at its user addresses and jobs address memory
 * by user VA (as with SVM), so each translation the GPU uses is judged by the checker against the
 * CPU page table entry of exactly that {@code (mm, va)}.
 *
 * <p>Locking: the page table's own spin locks ({@link DeviceMmu}); the driver serializes {@link
 * #bind} against its invalidate callback with its own lock. {@link #unbindRange} flushes the TLB,
 * which waits for in-flight accesses: it may be called from a callback, under spin locks.
 */
public final class GpuVm {
  private final SimGpu gpu;
  private final SimProcess process;
  private final int index;
  private final DeviceMmu mmu;
  private final @Nullable FaultQueue faultQueue; // null: faults not replayable
  private final DmaResv resv;

  GpuVm(SimGpu gpu, SimProcess process, int index) {
    this.gpu = gpu;
    this.process = process;
    this.index = index;
    String id = gpu.name() + ".vm" + index;
    this.faultQueue = gpu.replayableFaults() ? new FaultQueue(gpu.runtime(), id + ".faults") : null;
    DeviceMmu.Builder b =
        DeviceMmu.builder(gpu.runtime(), gpu.memory(), id, process.mm().name()).model(gpu.model());
    if (faultQueue != null) {
      b.faultQueue(faultQueue);
    }
    this.mmu = b.build();
    this.resv = new DmaResv(gpu.runtime(), id + ".resv");
  }

  /**
   * Returns the GPU.
   *
   * @return the GPU this VM belongs to
   */
  public SimGpu gpu() {
    return gpu;
  }

  /**
   * Returns the process whose addresses the VM mirrors.
   *
   * @return the process
   */
  public SimProcess process() {
    return process;
  }

  /**
   * Returns the VM's index on its GPU (0, 1, …).
   *
   * @return the index
   */
  public int index() {
    return index;
  }

  /**
   * Returns the checker's device id, {@code <gpu>.vm<index>}: the id the driver reports its
   * invalidate callbacks under.
   *
   * @return the device id
   */
  public String deviceId() {
    return mmu.deviceId();
  }

  /**
   * Returns the checker's name of the mirrored address space.
   *
   * @return {@code process().mm().name()}
   */
  public String mm() {
    return mmu.mm();
  }

  /**
   * Returns the GPU page table and TLB.
   *
   * @return the device MMU
   */
  public DeviceMmu mmu() {
    return mmu;
  }

  /**
   * Returns the replayable fault queue.
   *
   * @return the queue, or null if the GPU's faults are not replayable
   */
  public @Nullable FaultQueue faultQueue() {
    return faultQueue;
  }

  /**
   * Returns the VM's reservation object: every job submitted on the VM adds its fence here.
   *
   * @return the resv
   */
  public DmaResv resv() {
    return resv;
  }

  /**
   * Programs the GPU PTE of the page of {@code va} (GPU VA == user VA).
   *
   * @param va an address in the page
   * @param pfn the frame
   * @param writable whether the GPU may write through it
   */
  public void bind(long va, long pfn, boolean writable) {
    mmu.map(va, pfn, writable);
  }

  /**
   * Clears the GPU PTEs of {@code [start, end)} and flushes the TLB for it (waiting for accesses in
   * flight through the dropped entries).
   *
   * @param start first address
   * @param end exclusive end ({@code -1} is {@code ULONG_MAX})
   * @return how many PTEs were cleared
   */
  public int unbindRange(long start, long end) {
    int n = mmu.unmapRange(start, end);
    mmu.flushTlb(start, end);
    return n;
  }

  /**
   * Closes the fault queue (cancelling unresolved faults) and reports the context gone to the
   * checker. The driver unbinds first; later accesses through the VM are {@code LIFETIME}
   * violations. Must not be called from the fault handler thread.
   */
  public void tearDown() {
    if (faultQueue != null) {
      faultQueue.close();
    }
    mmu.tearDown();
  }

  @Override
  public String toString() {
    return "GpuVm[" + deviceId() + ", " + mm() + "]";
  }
}
