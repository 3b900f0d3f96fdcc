package io.mmulab.driver.radeon;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.gpu.GpuBo;
import io.mmulab.sim.gpu.GpuVm;
import io.mmulab.sim.mem.PhysicalMemory;

/**
 * The production {@link RadeonGart}: the BO's {@link GpuBo} on the simulated GPU, bound into one
 * {@link GpuVm} (GPU VA == user VA), GUP against the process's address space, pins in the simulated
 * physical memory, callbacks reported to the coherency checker under the VM's device id.
 */
final class RadeonSimGart implements RadeonGart {
  private final AddressSpace mm;
  private final PhysicalMemory memory;
  private final CoherencyChecker checker;
  private final GpuVm vm;

  RadeonSimGart(AddressSpace mm, PhysicalMemory memory, CoherencyChecker checker, GpuVm vm) {
    this.mm = mm;
    this.memory = memory;
    this.checker = checker;
    this.vm = vm;
  }

  /** The simulated BO behind {@code bo}. */
  static GpuBo gpuBo(RadeonBo bo) {
    return (GpuBo) bo.hw;
  }

  @Override
  public long[] pinUserPages(RadeonBo bo, boolean write) throws ErrnoException {
    long[] pfns = new long[gpuBo(bo).pageCount()];
    int got;
    mm.mmapLock().downRead();
    try {
      got =
          mm.getUserPages(
              bo.start(), pfns.length, Gup.FOLL_PIN | (write ? Gup.FOLL_WRITE : 0), pfns);
    } finally {
      mm.mmapLock().upRead();
    }
    if (got != pfns.length) {
      unpin(pfns, got);
      throw new ErrnoException(
          Errno.EFAULT, bo.name + ": pinned " + got + " of " + pfns.length + " pages");
    }
    return pfns;
  }

  @Override
  public void unpin(long[] pfns, int count) {
    for (int i = 0; i < count; i++) {
      memory.unpin(pfns[i]);
    }
  }

  @Override
  public boolean bound(RadeonBo bo) {
    return gpuBo(bo).placement() == GpuBo.Placement.GTT;
  }

  @Override
  public boolean hasPages(RadeonBo bo) {
    return gpuBo(bo).hasPages();
  }

  @Override
  public void bind(RadeonBo bo, long[] pfns, boolean write) {
    GpuBo g = gpuBo(bo);
    g.setPages(pfns, true, write);
    g.bindInto(vm);
  }

  @Override
  public void waitIdle(RadeonBo bo) {
    gpuBo(bo).resv().waitIdle();
  }

  @Override
  public int unbind(RadeonBo bo) {
    GpuBo g = gpuBo(bo);
    g.unbindFrom(vm);
    return g.releasePages();
  }

  @Override
  public void subscribed(String subscription, long start, long end) {
    checker.subscriptionInserted(vm.deviceId(), subscription, mm.name(), start, end);
  }

  @Override
  public void unsubscribed(String subscription) {
    checker.subscriptionRemoved(vm.deviceId(), subscription);
  }

  @Override
  public void callbackEntered(String subscription, long start, long end) {
    checker.invalidateCallbackEntered(vm.deviceId(), subscription, mm.name(), start, end);
  }

  @Override
  public void callbackReturned(String subscription, long start, long end, long seq) {
    checker.invalidateCallbackReturned(vm.deviceId(), subscription, mm.name(), start, end, seq);
  }
}
