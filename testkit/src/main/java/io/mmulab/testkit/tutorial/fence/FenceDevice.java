package io.mmulab.testkit.tutorial.fence;

import static io.mmulab.api.hmm.HmmPfnLayout.MAINLINE;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DeviceMmu;
import io.mmulab.sim.dev.DmaEngine;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.dev.DmaJob;
import io.mmulab.sim.driver.DeviceIds;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimMm;
import io.mmulab.sim.mm.SimProcess;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One open of the fence-waiting device: jobs run asynchronously on a {@link DmaEngine} through the
 * device's page table ({@link DeviceMmu}), filled at submission; one interval subscription over the
 * process; the callback waits for the fences of the jobs that use the range, then zaps the range.
 *
 * <p>Locking: {@code update} is the subscription's update lock. It guards {@code jobs}, {@code
 * tornDown} and the programming of the page table, and a submission holds it from {@code readRetry}
 * until its job is on the ring, so the callback sees every job that may use the old pages. The
 * callback waits for fences holding it: the engine never takes it, so the jobs can finish.
 */
final class FenceDevice extends SimDriverAdapter {
  private static final long PAGE = AddressSpace.PAGE_SIZE;
  private static final String SUB = "userptr";

  /** One timed fence wait; a wait that expires is repeated, never taken for completion. */
  static final long FENCE_WAIT_NANOS = 100_000;

  /** A job on the ring and the pages it uses. */
  private record Job(long start, long end, DmaFence fence) {
    boolean overlaps(MmuNotifierRange r) {
      return Long.compareUnsigned(start, r.end() - 1) <= 0
          && Long.compareUnsigned(r.start(), end - 1) <= 0;
    }
  }

  private final String id;
  private final AddressSpace mm;
  private final CoherencyChecker checker;
  private final DeviceMmu mmu;
  private final Mutex update;
  private final MmuIntervalNotifier sub;
  private final DmaEngine engine;
  private final DriverStats stats = new DriverStats();
  private final List<Job> jobs = new ArrayList<>(); // guarded by update
  private boolean tornDown; // guarded by update

  FenceDevice(SimProcess process, SimMachine sim) throws ErrnoException {
    super(FenceDriver.NAME);
    id = DeviceIds.next(sim, FenceDriver.NAME);
    mm = process.addressSpace();
    checker = sim.checker();
    mmu = DeviceMmu.builder(sim.runtime(), sim.memory(), id, mm.name()).build();
    update = sim.runtime().newMutex(id + ".update");
    sub = mm.insertIntervalNotifier(0, SimMm.TASK_SIZE, this::invalidate, update);
    checker.subscriptionInserted(id, SUB, mm.name(), 0, SimMm.TASK_SIZE);
    engine = new DmaEngine(sim.runtime(), id + ".ring", 8, 1).start(); // last: nothing can fail
  }

  @Override
  protected DriverStats stats() {
    return stats;
  }

  @Override
  public DriverVariant variant() {
    return DriverVariant.CONSOLIDATED;
  }

  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    return fence(dispatch(va, words, data).fence());
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    DmaJob job = dispatch(va, words, null);
    job.fence().waitSignaled();
    if (job.error() != null) {
      throw job.error();
    }
    return job.readResult(0);
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    checkWrite(va, data);
    DmaJob job = dispatch(va, data.length, data);
    job.fence().waitSignaled();
    if (job.error() != null) {
      throw job.error();
    }
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    checkPrefetch(va, length);
    bind(va & -PAGE, (va + length + PAGE - 1) & -PAGE, write, null);
  }

  /** Builds the job of {@code words} words at {@code va} (a write if {@code data}) and binds it. */
  private DmaJob dispatch(long va, int words, long @Nullable [] data) throws ErrnoException {
    DmaJob.Builder b = DmaJob.builder(id + ".job");
    DmaJob job = (data == null ? b.read(mmu, va, words) : b.write(mmu, va, data)).build();
    bind(va & -PAGE, (va + 8L * words + PAGE - 1) & -PAGE, data != null, job);
    return job;
  }

  /**
   * Job submission: fetches the pages of {@code [start, end)}, and under the update lock, if no
   * invalidation ran since {@code readBegin}, programs the page table and puts {@code job} (if any)
   * on the ring.
   */
  private void bind(long start, long end, boolean write, @Nullable DmaJob job)
      throws ErrnoException {
    update.lock(); // a torn-down device fails before it looks at the process
    try {
      requireOpen(tornDown, id);
    } finally {
      update.unlock();
    }
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, id + ": the process is gone");
    }
    try {
      long[] pfns = new long[(int) ((end - start) / PAGE)];
      long flags = REQ_FAULT | (write ? REQ_WRITE : 0);
      HmmRange range = new HmmRange(sub, 0, start, end, pfns, flags, 0, null, MAINLINE);
      while (true) {
        range.setNotifierSeq(sub.readBegin());
        Arrays.fill(pfns, 0);
        mm.mmapLock().downRead();
        try {
          mm.hmmRangeFault(range);
        } catch (ErrnoException e) {
          if (e.errno() == Errno.EBUSY) {
            stats.retry();
            continue; // an invalidation collided with the walk: start again
          }
          throw e;
        } finally {
          mm.mmapLock().upRead();
        }
        update.lock();
        try {
          requireOpen(tornDown, id);
          if (sub.readRetry(range.notifierSeq())) {
            stats.retry();
            continue; // an invalidation ran since readBegin: the pfns may be stale
          }
          for (int i = 0; i < pfns.length; i++) {
            mmu.map(start + i * PAGE, MAINLINE.pfn(pfns[i]), (pfns[i] & WRITE) != 0);
          }
          stats.fault();
          if (job != null) {
            jobs.removeIf(j -> j.fence().isSignaled());
            jobs.add(new Job(start, end, engine.submit(job)));
          }
          return;
        } finally {
          update.unlock();
        }
      }
    } finally {
      mm.mmput();
    }
  }

  /**
   * The invalidate callback: publish the new sequence, wait for every job that uses the range, then
   * zap the range so that no later job finds the old pages; under the update lock.
   */
  private boolean invalidate(MmuIntervalNotifier s, MmuNotifierRange range, long curSeq) {
    stats.invalidation();
    checker.invalidateCallbackEntered(id, SUB, mm.name(), range.start(), range.end());
    if (range.blockable()) {
      update.lock();
    } else if (!update.tryLock()) {
      stats.refused();
      return false; // the OOM reaper retries later
    }
    try {
      List<DmaFence> busy = new ArrayList<>();
      for (Job j : jobs) {
        if (j.overlaps(range) && !j.fence().isSignaled()) {
          busy.add(j.fence());
        }
      }
      if (!range.blockable() && !busy.isEmpty()) {
        stats.refused();
        return false; // waiting would sleep where the kernel may not
      }
      s.setSeq(curSeq);
      for (DmaFence f : busy) {
        while (!f.waitTimeout(FENCE_WAIT_NANOS)) {
          // a timeout says nothing about the job: it may still touch the pages
        }
      }
      mmu.unmapRange(range.start(), range.end());
      mmu.flushTlb(range.start(), range.end());
    } finally {
      update.unlock();
    }
    checker.invalidateCallbackReturned(id, SUB, mm.name(), range.start(), range.end(), curSeq);
    return true;
  }

  @Override
  public void teardown() {
    List<Job> pending;
    update.lock();
    try {
      if (tornDown) {
        return;
      }
      tornDown = true; // no job is queued after this
      pending = List.copyOf(jobs);
      jobs.clear();
    } finally {
      update.unlock();
    }
    for (Job j : pending) {
      j.fence().waitSignaled(); // no timeout: a job may not outlive the subscription
    }
    sub.remove(); // no callback runs once this returns
    checker.subscriptionRemoved(id, SUB);
    engine.shutdown();
    mmu.unmapRange(0, -1);
    mmu.flushTlbAll();
    mmu.tearDown();
  }

  @Override
  public String toString() {
    return id;
  }
}
