package io.mmulab.driver.i915;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.gpu.GpuBo;
import io.mmulab.sim.gpu.GpuJob;
import io.mmulab.sim.gpu.GpuVm;
import io.mmulab.sim.gpu.SimGpu;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * One open of the i915 device by one process: a {@link SimGpu} (its engine is the render ring), a
 * {@link GpuVm} mirroring the process (the ppGTT; GPU VA == user VA): the production {@link
 * I915Hardware} behind the userptr code, which owns {@code struct_mutex} and the objects.
 *
 * <p>Lock order, both variants: mmap lock → {@code struct_mutex} (legacy callback) ; {@code
 * struct_mutex} → mmap lock → {@code notifier_lock} (consolidated execbuf). No path takes the mmap
 * lock under {@code struct_mutex} in the legacy variant (the kernel's reason for its GUP worker).
 */
final class I915Device implements I915Hardware {
  private static final Map<SimMachine, int[]> OPENS = new WeakHashMap<>();

  final SimMachine machine;
  final SimProcess process;
  final AddressSpace mm;
  final SyncRuntime rt;
  final CoherencyChecker checker;
  final SimGpu gpu;
  final GpuVm vm;

  private I915Device(SimMachine machine, SimProcess process, int index) {
    this.machine = machine;
    this.process = process;
    this.mm = process.addressSpace();
    this.rt = machine.runtime();
    this.checker = machine.checker();
    this.gpu = new SimGpu(machine, "i915-" + index, CoherencyModel.FENCE_WAIT, false);
    this.vm = gpu.newVm(process);
  }

  static I915Device open(SimMachine machine, SimProcess process) {
    int index;
    synchronized (OPENS) {
      int[] n = OPENS.computeIfAbsent(machine, k -> new int[1]);
      index = n[0]++;
    }
    return new I915Device(machine, process, index);
  }

  @Override
  public String name() {
    return gpu.name();
  }

  @Override
  public String deviceId() {
    return vm.deviceId();
  }

  @Override
  public String mmName() {
    return vm.mm();
  }

  @Override
  public I915Object newObject(long page) {
    return new I915Object(
        new GpuBo(gpu, "userptr@0x" + Long.toHexString(page), page, AddressSpace.PAGE_SIZE));
  }

  @Override
  public boolean hasPages(I915Object o) {
    return o.bo.hasPages();
  }

  @Override
  public void setPages(I915Object o, long[] pfns, boolean writable) {
    o.bo.setPages(pfns, true, writable);
  }

  @Override
  public void unpin(long[] pfns) {
    for (long pfn : pfns) {
      machine.memory().unpin(pfn);
    }
  }

  @Override
  public void bind(I915Object o) {
    o.bo.bindInto(vm);
  }

  @Override
  public void unbind(I915Object o) {
    o.bo.unbindFrom(vm);
  }

  @Override
  public int releasePages(I915Object o) {
    return o.bo.releasePages();
  }

  @Override
  public void waitIdle(I915Object o) {
    o.bo.resv().waitIdle();
  }

  @Override
  public DmaFence submit(GpuJob job, List<I915Object> objs) {
    List<GpuBo> bos = new ArrayList<>(objs.size());
    objs.forEach(o -> bos.add(o.bo));
    return gpu.submit(vm, job, bos);
  }

  @Override
  public void waitVmIdle() {
    vm.resv().waitIdle();
  }

  @Override
  public void shutdown() {
    gpu.shutdown();
    vm.tearDown();
  }

  @Override
  public void subscriptionInserted(String subscription, long start, long end) {
    checker.subscriptionInserted(deviceId(), subscription, mmName(), start, end);
  }

  @Override
  public void subscriptionRemoved(String subscription) {
    checker.subscriptionRemoved(deviceId(), subscription);
  }

  @Override
  public void callbackEntered(String subscription, long start, long end) {
    checker.invalidateCallbackEntered(deviceId(), subscription, mmName(), start, end);
  }

  @Override
  public void callbackReturned(String subscription, long start, long end, long seq) {
    checker.invalidateCallbackReturned(deviceId(), subscription, mmName(), start, end, seq);
  }
}
