package io.mmulab.driver.vhost;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import org.jspecify.annotations.Nullable;

/**
 * {@link VhostHw} on the simulated machine: its physical memory, the VMM's page table, the checker.
 */
final class VhostSimHw implements VhostHw {
  private final String id;
  private final SimProcess process;
  private final AddressSpace mm;
  private final String mmName;
  private final PhysicalMemory memory;
  private final CoherencyChecker checker;
  private final SyncRuntime runtime;

  VhostSimHw(String id, SimProcess process, SimMachine machine) {
    this.id = id;
    this.process = process;
    this.mm = process.addressSpace();
    this.mmName = mm.name();
    this.memory = machine.memory();
    this.checker = machine.checker();
    this.runtime = machine.runtime();
    checker.declareDevice(id, CoherencyModel.SHADOW_PTE);
  }

  @Override
  public long getPageFast(long va, boolean write) {
    PteView p = process.pte(va);
    boolean usable = p.type() == PteView.Type.PRESENT || (p.type() == PteView.Type.ZERO && !write);
    long pfn = usable && (!write || p.writable()) && memory.tryGet(p.pfn()) ? p.pfn() : -1;
    runtime.journal(
        () ->
            "gup-fast lookup 0x" + Long.toHexString(va) + (pfn < 0 ? ": none" : " -> pfn " + pfn));
    return pfn;
  }

  @Override
  public void putPage(long pfn) {
    memory.put(pfn);
  }

  @Override
  public void faultIn(HmmRange range) throws ErrnoException {
    mm.mmapLock().downRead();
    try {
      mm.hmmRangeFault(range);
    } finally {
      mm.mmapLock().upRead();
    }
  }

  @Override
  public long mapRead(long va, long pfn) {
    return memory.deviceReadLong(id, CoherencyChecker.NO_OP, mmName, va, pfn);
  }

  @Override
  public void mapWrite(long va, long pfn, long value) {
    memory.deviceWriteLong(id, CoherencyChecker.NO_OP, mmName, va, pfn, value);
  }

  @Override
  public long copyFromUser(long va) throws ErrnoException {
    return process.load(va);
  }

  @Override
  public void copyToUser(long va, long value) throws ErrnoException {
    process.store(va, value);
  }

  @Override
  public void mapped(@Nullable String subscription, long va, long pfn, boolean writable) {
    checker.deviceMapped(id, subscription, mmName, va, pfn, writable);
  }

  @Override
  public void unmapped(long start, long end) {
    checker.deviceUnmappedRange(id, mmName, start, end);
  }

  @Override
  public void subscribed(String subscription, long start, long end) {
    checker.subscriptionInserted(id, subscription, mmName, start, end);
  }

  @Override
  public void unsubscribed(String subscription) {
    checker.subscriptionRemoved(id, subscription);
  }

  @Override
  public void callbackEntered(String subscription, long start, long end) {
    checker.invalidateCallbackEntered(id, subscription, mmName, start, end);
  }

  @Override
  public void callbackReturned(String subscription, long start, long end, long seq) {
    checker.invalidateCallbackReturned(id, subscription, mmName, start, end, seq);
  }

  @Override
  public void tornDown() {
    checker.deviceTornDown(id);
  }
}
