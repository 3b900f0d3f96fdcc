package io.mmulab.driver.hfi1;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;

/** {@link Hfi1Hw} on the simulated machine: GUP on the process, reports to the checker. */
final class Hfi1SimHw implements Hfi1Hw {
  private final AddressSpace mm;
  private final PhysicalMemory memory;
  private final CoherencyChecker checker;
  private final String deviceId;

  Hfi1SimHw(AddressSpace mm, PhysicalMemory memory, CoherencyChecker checker, String deviceId) {
    this.mm = mm;
    this.memory = memory;
    this.checker = checker;
    this.deviceId = deviceId;
  }

  @Override
  public long pin(long va, boolean write) throws ErrnoException {
    if (!mm.mmgetNotZero()) { // never pin into an address space that is going away
      throw new ErrnoException(Errno.EFAULT, deviceId + ": the process is gone");
    }
    try {
      long[] pfns = new long[1];
      int flags = Gup.FOLL_PIN | Gup.FOLL_LONGTERM | (write ? Gup.FOLL_WRITE : 0);
      mm.mmapLock().downRead();
      try {
        mm.getUserPages(va, 1, flags, pfns);
      } finally {
        mm.mmapLock().upRead();
      }
      return pfns[0];
    } finally {
      mm.mmput();
    }
  }

  @Override
  public void unpin(long pfn) {
    memory.unpin(pfn);
  }

  @Override
  public void subscribed(String subscription, long start, long end) {
    checker.subscriptionInserted(deviceId, subscription, mm.name(), start, end);
  }

  @Override
  public void unsubscribed(String subscription) {
    checker.subscriptionRemoved(deviceId, subscription);
  }

  @Override
  public void callbackEntered(String subscription, long start, long end) {
    checker.invalidateCallbackEntered(deviceId, subscription, mm.name(), start, end);
  }

  @Override
  public void callbackReturned(String subscription, long start, long end, long seq) {
    checker.invalidateCallbackReturned(deviceId, subscription, mm.name(), start, end, seq);
  }

  @Override
  public void mapped(String subscription, long va, long pfn) {
    checker.deviceMapped(deviceId, subscription, mm.name(), va, pfn, false);
  }

  @Override
  public void unmapped(long va) {
    checker.deviceUnmapped(deviceId, mm.name(), va);
  }

  @Override
  public long beginOperation() {
    return checker.beginOperation(deviceId);
  }
}
