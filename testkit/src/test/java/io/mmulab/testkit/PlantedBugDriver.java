package io.mmulab.testkit;

import static io.mmulab.api.hmm.HmmPfnLayout.MAINLINE;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DeclaredRace;
import io.mmulab.api.driver.DriverAdapter;
import io.mmulab.api.driver.DriverCounters;
import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverFamily;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DeviceMmu;
import io.mmulab.sim.dev.DmaEngine;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.dev.DmaJob;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimMm;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A collision-retry mirror with asynchronous jobs (a {@link DmaEngine} running each job through the
 * device's translations) and one bug planted on purpose, to show that the scenario probing that bug
 * class catches it. {@link Bug#NONE} is a correct driver: every scenario must be clean.
 *
 * <p>Its one variant is {@link DriverVariant#CONSOLIDATED}. It declares no race unless given some,
 * so whatever the planted bug causes is an undeclared failure; given races, it shows how a finding
 * is declared.
 */
final class PlantedBugDriver implements DriverFactory {
  /** The bug planted. */
  enum Bug {
    /** None: a correct driver. */
    NONE,
    /** Programs the device from a page lookup without {@code readRetry}. */
    NO_READ_RETRY,
    /** The callback zaps the page table but does not flush the device TLB. */
    NO_TLB_FLUSH,
    /** The callback ignores protection changes: "the frame did not change". */
    IGNORES_PROTECTION,
    /** The callback takes its mutex even for a non-blockable range. */
    SLEEPS_IN_NONBLOCKABLE,
    /** Teardown forgets to remove the subscription. */
    KEEPS_SUBSCRIPTION,
    /** Teardown waits for outstanding jobs with a timeout and tears down anyway. */
    TIMED_TEARDOWN,
    /** Faults pages in without holding a user reference ({@code mmget}) on the address space. */
    NO_MMGET,
    /** Maps what the fault asked for, so a read fault downgrades a writable entry, no TLB flush. */
    DOWNGRADES_WITHOUT_FLUSH,
    /** For a non-blockable range the callback answers "done" without zapping anything. */
    NONBLOCKABLE_DONE_WITHOUT_ZAP,
    /**
     * A second lock, taken after the update lock by the fault path and before it by the callback:
     * two locks in opposite orders, a deadlock when a fault and an invalidation meet.
     */
    ABBA_LOCKS
  }

  private static final AtomicInteger IDS = new AtomicInteger();

  private final Bug bug;
  private final List<DeclaredRace> races;

  PlantedBugDriver(Bug bug) {
    this(bug, List.of());
  }

  PlantedBugDriver(Bug bug, List<DeclaredRace> races) {
    this.bug = bug;
    this.races = List.copyOf(races);
  }

  @Override
  public String name() {
    return "planted-" + bug.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }

  @Override
  public DriverFamily family() {
    return DriverFamily.TEST;
  }

  @Override
  public CoherencyModel model() {
    return CoherencyModel.SHADOW_PTE;
  }

  @Override
  public Set<DriverVariant> variants() {
    return EnumSet.of(DriverVariant.CONSOLIDATED);
  }

  @Override
  public List<DeclaredRace> declaredRaces(DriverVariant variant) {
    if (variant != DriverVariant.CONSOLIDATED) {
      throw new IllegalArgumentException(name() + " has no " + variant);
    }
    return races;
  }

  @Override
  public DriverAdapter create(DriverVariant variant, UserProcess process, Machine machine)
      throws ErrnoException {
    declaredRaces(variant);
    return new Mirror(process, SimMachine.of(machine));
  }

  private final class Mirror implements DriverAdapter {
    private static final long PAGE = AddressSpace.PAGE_SIZE;
    private static final long TIMEOUT_NANOS = 10_000;

    private final String id = name() + IDS.incrementAndGet();
    private final AddressSpace mm;
    private final CoherencyChecker checker;
    private final DeviceMmu mmu;
    private final DmaEngine engine;
    private final Mutex update;
    private final Mutex table;
    private final MmuIntervalNotifier sub;
    private final List<DmaFence> jobs = new ArrayList<>();
    private final DriverStats stats = new DriverStats();
    private boolean tornDown;

    Mirror(UserProcess process, SimMachine machine) throws ErrnoException {
      mm = process.addressSpace();
      checker = machine.checker();
      mmu = DeviceMmu.builder(machine.runtime(), machine.memory(), id, mm.name()).build();
      engine = new DmaEngine(machine.runtime(), id + ".ring", 8, 1).start();
      update = machine.runtime().newMutex(id + ".update");
      table = machine.runtime().newMutex(id + ".table");
      sub = mm.insertIntervalNotifier(0, SimMm.TASK_SIZE, this::invalidate, update);
      checker.subscriptionInserted(id, "all", mm.name(), 0, SimMm.TASK_SIZE);
    }

    private boolean invalidate(MmuIntervalNotifier s, MmuNotifierRange range, long curSeq) {
      stats.invalidation();
      checker.invalidateCallbackEntered(id, "all", mm.name(), range.start(), range.end());
      if (!range.blockable() && bug == Bug.NONBLOCKABLE_DONE_WITHOUT_ZAP) {
        checker.invalidateCallbackReturned(
            id, "all", mm.name(), range.start(), range.end(), curSeq);
        return true;
      }
      if (bug == Bug.ABBA_LOCKS) {
        table.lock(); // the bug: table before update here, update before table in the fault path
      }
      if (range.blockable() || bug == Bug.SLEEPS_IN_NONBLOCKABLE) {
        update.lock();
      } else if (!update.tryLock()) {
        unlockTable();
        stats.refused();
        return false;
      }
      try {
        s.setSeq(curSeq);
        boolean protection =
            range.event() == MmuNotifierEvent.PROTECTION_VMA
                || range.event() == MmuNotifierEvent.PROTECTION_PAGE;
        if (!(bug == Bug.IGNORES_PROTECTION && protection)) {
          mmu.unmapRange(range.start(), range.end());
          if (bug != Bug.NO_TLB_FLUSH) {
            mmu.flushTlb(range.start(), range.end());
          }
        }
      } finally {
        update.unlock();
        unlockTable();
      }
      checker.invalidateCallbackReturned(id, "all", mm.name(), range.start(), range.end(), curSeq);
      return true;
    }

    private void unlockTable() {
      if (bug == Bug.ABBA_LOCKS) {
        table.unlock();
      }
    }

    private void populate(long va, boolean write) throws ErrnoException {
      if (bug == Bug.NO_MMGET) {
        populateLocked(va, write);
        return;
      }
      if (!mm.mmgetNotZero()) {
        throw new ErrnoException(Errno.EFAULT, id + ": the process is gone");
      }
      try {
        populateLocked(va, write);
      } finally {
        mm.mmput();
      }
    }

    private void populateLocked(long va, boolean write) throws ErrnoException {
      long[] pfns = new long[1];
      HmmRange range =
          new HmmRange(
              sub, 0, va, va + PAGE, pfns, REQ_FAULT | (write ? REQ_WRITE : 0), 0, null, MAINLINE);
      while (true) {
        range.setNotifierSeq(sub.readBegin());
        pfns[0] = 0;
        mm.mmapLock().downRead();
        try {
          mm.hmmRangeFault(range);
        } catch (ErrnoException e) {
          if (e.errno() == Errno.EBUSY) {
            stats.retry();
            continue;
          }
          throw e;
        } finally {
          mm.mmapLock().upRead();
        }
        update.lock();
        if (bug == Bug.ABBA_LOCKS) {
          table.lock();
        }
        try {
          if (bug != Bug.NO_READ_RETRY && sub.readRetry(range.notifierSeq())) {
            stats.retry();
            continue;
          }
          boolean writable = bug == Bug.DOWNGRADES_WITHOUT_FLUSH ? write : (pfns[0] & WRITE) != 0;
          mmu.map(va, MAINLINE.pfn(pfns[0]), writable);
          stats.fault();
          return;
        } finally {
          unlockTable();
          update.unlock();
        }
      }
    }

    private long access(long va, boolean write, long value) throws ErrnoException {
      for (int round = 1; ; round++) {
        try {
          if (write) {
            mmu.writeLong(va, value);
            return value;
          }
          return mmu.readLong(va);
        } catch (ErrnoException e) {
          if (e.errno() != Errno.EFAULT || round == 16) {
            throw e;
          }
        }
        populate(va & -PAGE, write);
      }
    }

    @Override
    public String driver() {
      return name();
    }

    @Override
    public DriverVariant variant() {
      return DriverVariant.CONSOLIDATED;
    }

    @Override
    public DriverCounters counters() {
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
      for (long p = va; p < va + length; p += PAGE) {
        populate(p, write);
      }
    }

    @Override
    public JobFence submit(long va, int words, long[] data) throws ErrnoException {
      populate(va & -PAGE, data != null);
      DmaJob.Builder job = DmaJob.builder(id + ".job");
      DmaJob built = (data == null ? job.read(mmu, va, words) : job.write(mmu, va, data)).build();
      DmaFence f = engine.submit(built);
      synchronized (jobs) {
        jobs.add(f);
      }
      return new JobFence() {
        @Override
        public boolean isSignaled() {
          return f.isSignaled();
        }

        @Override
        public boolean waitTimeout(long timeoutNanos) {
          return f.waitTimeout(timeoutNanos);
        }

        @Override
        public ErrnoException error() {
          return f.error();
        }
      };
    }

    @Override
    public void teardown() {
      synchronized (this) {
        if (tornDown) {
          return;
        }
        tornDown = true;
      }
      List<DmaFence> pending;
      synchronized (jobs) {
        pending = List.copyOf(jobs);
      }
      for (DmaFence f : pending) {
        if (bug == Bug.TIMED_TEARDOWN) {
          f.waitTimeout(TIMEOUT_NANOS); // the bug: a timeout taken for completion
        } else {
          f.waitSignaled();
        }
      }
      if (bug != Bug.KEEPS_SUBSCRIPTION) {
        sub.remove();
        checker.subscriptionRemoved(id, "all");
      }
      mmu.unmapRange(0, -1);
      mmu.flushTlbAll();
      mmu.tearDown();
      engine.shutdown(); // runs whatever is still queued
    }
  }
}
