package io.mmulab.testkit.tutorial;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.sim.dev.DeviceMmu;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;

/**
 * The legacy port: a classic notifier over the whole address space, {@code getUserPages} to look
 * pages up, and the pre-5.5 "valid flag": every invalidation start sets {@code invalidating}, every
 * end clears it and bumps {@code seq}; a fault looks the page up only while the flag is clear and
 * maps it only if neither changed meanwhile.
 *
 * <p>The flag is the declared race ({@link TutorialDriver#INVALIDATING_FLAG}): with two windows
 * open, the first end clears it while the second has not changed the page table yet. A count of
 * open windows instead of the boolean closes it (that is what {@code active_invalidate_ranges} does
 * in the consolidated core).
 *
 * <p>Locking: {@code lock}, a spin lock because starts and ends of non-blockable ranges must not
 * sleep, guards {@code invalidating}, {@code seq}, {@code released} and the programming of the
 * device page table. Page lookups run without it.
 */
final class LegacyMirror extends TutorialMirror implements MmuNotifier {
  private static final String SUB = "classic";

  private final PhysicalMemory memory;
  private final SpinLock lock;
  private final WaitQueue idle;
  private volatile boolean invalidating; // the bug: a flag where a count was needed
  private long seq;
  private boolean released;

  LegacyMirror(UserProcess process, Machine machine) throws ErrnoException {
    super(DriverVariant.LEGACY, process, machine);
    memory = SimMachine.of(machine).memory();
    lock = machine.runtime().newSpinLock(id + ".lock");
    idle = machine.runtime().newWaitQueue(id + ".idle");
    mm.registerNotifier(this);
    checker.subscriptionInserted(id, SUB, mm.name(), 0, -1);
  }

  @Override
  public boolean invalidateRangeStart(MmuNotifierRange range) {
    stats.invalidation();
    checker.invalidateCallbackEntered(id, SUB, mm.name(), range.start(), range.end());
    lock.lock();
    try {
      invalidating = true;
      mmu.unmapRange(range.start(), range.end());
      mmu.flushTlb(range.start(), range.end());
    } finally {
      lock.unlock();
    }
    checker.invalidateCallbackReturned(id, SUB, mm.name(), range.start(), range.end(), 0);
    return true;
  }

  @Override
  public void invalidateRangeEnd(MmuNotifierRange range) {
    lock.lock();
    try {
      invalidating = false; // wrong if another window is still open
      seq++;
    } finally {
      lock.unlock();
    }
    idle.wakeUpAll();
  }

  @Override
  public void release(AddressSpace as) {
    stats.invalidation();
    checker.invalidateCallbackEntered(id, SUB, mm.name(), 0, -1);
    lock.lock();
    try {
      released = true;
      mmu.unmapRange(0, -1);
      mmu.flushTlbAll();
    } finally {
      lock.unlock();
    }
    checker.invalidateCallbackReturned(id, SUB, mm.name(), 0, -1, 0);
  }

  @Override
  void populate(long va, boolean write) throws ErrnoException {
    long[] pfns = new long[1];
    while (true) {
      idle.waitEvent(() -> !invalidating);
      long before;
      lock.lock();
      try {
        if (released) {
          throw new ErrnoException(Errno.EFAULT, id + ": the process is gone");
        }
        before = seq;
      } finally {
        lock.unlock();
      }
      mm.mmapLock().downRead();
      try {
        stats.pinned(mm.getUserPages(va, 1, write ? Gup.FOLL_WRITE : 0, pfns)); // a reference
      } finally {
        mm.mmapLock().upRead();
      }
      boolean mapped = false;
      lock.lock();
      try {
        if (!invalidating && !released && seq == before) {
          mmu.map(va, pfns[0], write || stillWritable(va, pfns[0]));
          mapped = true;
          stats.fault();
        }
      } finally {
        lock.unlock();
      }
      memory.put(pfns[0]); // no reference is kept: the notifier is what keeps the mapping valid
      stats.unpinned(1);
      if (mapped) {
        return;
      }
      stats.retry(); // an invalidation started or ended since the lookup: start over
    }
  }

  /**
   * Whether the device already maps {@code va} writable to {@code pfn}: a read fault must not
   * downgrade that entry, because another thread's write may still hold it in the device TLB. The
   * entry is current: any change of the CPU entry since would have zapped it under {@code lock}.
   */
  private boolean stillWritable(long va, long pfn) {
    DeviceMmu.Translation old = mmu.lookup(va);
    return old != null && old.pfn() == pfn && old.writable();
  }

  @Override
  void unsubscribe() {
    mm.unregisterNotifier(this);
    checker.subscriptionRemoved(id, SUB);
  }
}
