package io.mmulab.testkit.tutorial;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverCounters;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DeviceMmu;
import io.mmulab.sim.driver.DeviceIds;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SignaledFence;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * What both ports share: the device (one {@link DeviceMmu}: a page table and a TLB) and the adapter
 * verbs. A device access that finds no translation is a device page fault: the driver populates the
 * page ({@link #populate}, the part each port does its own way) and the access is replayed.
 */
abstract class TutorialMirror implements DriverAdapter {
  /** Fault rounds before an access gives up with {@code EBUSY}. */
  static final int MAX_FAULT_ROUNDS = 16;

  static final long PAGE_SIZE = AddressSpace.PAGE_SIZE;

  final String id;
  final SimProcess process;
  final AddressSpace mm;
  final CoherencyChecker checker;
  final DeviceMmu mmu;

  /** Counted by the ports where they populate, retry, get a callback, pin and unpin. */
  final DriverStats stats = new DriverStats();

  private final DriverVariant variant;
  private final AtomicBoolean tornDown = new AtomicBoolean();

  TutorialMirror(DriverVariant variant, UserProcess process, Machine machine) {
    SimMachine sim = SimMachine.of(machine);
    this.variant = variant;
    this.id = DeviceIds.next(sim, TutorialDriver.NAME);
    this.process = SimProcess.of(process);
    this.mm = process.addressSpace();
    this.checker = sim.checker();
    this.mmu = DeviceMmu.builder(sim.runtime(), sim.memory(), id, mm.name()).build();
  }

  /**
   * Makes the page of {@code va} present in the device page table, writable if {@code write}.
   *
   * @throws ErrnoException {@code EFAULT} if the process has no such memory, or as the lookup fails
   */
  abstract void populate(long va, boolean write) throws ErrnoException;

  /** Stops invalidations from reaching this device (remove the subscription, unregister). */
  abstract void unsubscribe();

  @Override
  public final String driver() {
    return TutorialDriver.NAME;
  }

  @Override
  public final DriverVariant variant() {
    return variant;
  }

  @Override
  public final DriverCounters counters() {
    return stats.snapshot();
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    long[] out = new long[words];
    for (int i = 0; i < words; i++) {
      out[i] = access(va + 8L * i, false, 0);
    }
    return out;
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    for (int i = 0; i < data.length; i++) {
      access(va + 8L * i, true, data[i]);
    }
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    for (long page = va; page < va + length; page += PAGE_SIZE) {
      populate(page, write);
    }
  }

  /** No job queue: the job runs now and its fence is returned signaled. */
  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) {
    try {
      if (data == null) {
        read(va, words);
      } else {
        write(va, data);
      }
      return SignaledFence.OK;
    } catch (ErrnoException e) {
      return SignaledFence.of(e);
    }
  }

  @Override
  public void teardown() {
    if (!tornDown.compareAndSet(false, true)) {
      return;
    }
    unsubscribe(); // no callback runs once this returns
    mmu.unmapRange(0, -1);
    mmu.flushTlbAll();
    mmu.tearDown();
  }

  /** One word of DMA; a device page fault populates the page and replays the access. */
  private long access(long va, boolean write, long value) throws ErrnoException {
    for (int round = 1; ; round++) {
      try {
        if (write) {
          mmu.writeLong(va, value);
          return value;
        }
        return mmu.readLong(va);
      } catch (ErrnoException fault) {
        if (fault.errno() != Errno.EFAULT) {
          throw fault;
        }
        if (round == MAX_FAULT_ROUNDS) {
          throw new ErrnoException(Errno.EBUSY, id + ": no progress after " + round + " faults");
        }
      }
      populate(va & -PAGE_SIZE, write);
    }
  }
}
