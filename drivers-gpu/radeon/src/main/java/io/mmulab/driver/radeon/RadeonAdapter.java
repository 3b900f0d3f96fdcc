package io.mmulab.driver.radeon;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.driver.DeviceIds;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import io.mmulab.sim.gpu.GpuBo;
import io.mmulab.sim.gpu.GpuJob;
import io.mmulab.sim.gpu.GpuVm;
import io.mmulab.sim.gpu.SimGpu;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The radeon device every variant shares: one GPU with one VM per device context, userptr BOs (one
 * per user page, created on first use, the way a userspace driver would wrap the page it hands to a
 * command submission), the GEM handle table and the adapter verbs. Each verb is one command
 * submission (CS) per page: the variant's {@link RadeonUserptr} validates the BO (GUP + bind into
 * the GART when it is on the CPU) through the device's {@link RadeonSimGart}, then a GPU job that
 * really reads or writes the pages through the VM is queued under the BO reservation.
 *
 * <p>Locks: {@code handles} (the GEM handle table: which BO covers which page) → the variant's
 * notifier lock → a BO's {@code reserve}.
 *
 * <p>Counters: a fault per CS validation that bound a BO into the GART (one per page a verb finds
 * unbound; a write to a page bound read-only counts again); a retry per {@code read_retry} true
 * (consolidated only: legacy and as-merged bind without a check, so never retry); an invalidation
 * per notifier callback (one per BO's interval notifier, or per call of the legacy classic {@code
 * invalidate_range_start} and {@code release}); a pin per page GUP pinned and an unpin per page let
 * go (a CS that lost the race to bind, an eviction).
 */
final class RadeonAdapter extends SimDriverAdapter {
  static final long PAGE_SIZE = AddressSpace.PAGE_SIZE;

  final String gpuName;
  final SyncRuntime rt;
  final AddressSpace mm;
  final SimGpu gpu;
  final GpuVm vm;
  final RadeonGart gart;

  /** The variant's protocol: notifier registration, CS validation, invalidate callback. */
  final RadeonUserptr protocol;

  private final Mutex handles;
  // Guarded by handles.
  private final Map<Long, RadeonBo> byPage = new LinkedHashMap<>();
  private final List<RadeonBo> bos = new ArrayList<>();
  private boolean closed;
  private int jobs;

  RadeonAdapter(DriverVariant variant, UserProcess process, Machine machine) throws ErrnoException {
    super(RadeonFactory.NAME);
    SimMachine sim = SimMachine.of(machine);
    this.gpuName = DeviceIds.next(sim, RadeonFactory.NAME);
    this.rt = sim.runtime();
    SimProcess simProcess = SimProcess.of(process);
    this.mm = process.addressSpace();
    this.gpu = new SimGpu(sim, gpuName, CoherencyModel.FENCE_WAIT, false);
    this.vm = gpu.newVm(simProcess);
    this.gart = new RadeonSimGart(mm, sim.memory(), sim.checker(), vm);
    this.handles = rt.newMutex(gpuName + ".handles");
    this.protocol =
        switch (variant) {
          case LEGACY -> new RadeonLegacy(rt, mm, gpuName, gart);
          case AS_MERGED -> new RadeonAsMerged(rt, mm, gpuName, gart);
          case CONSOLIDATED -> new RadeonConsolidated(rt, mm, gpuName, gart);
        };
  }

  /** The CS's job submission: queues the job with the BO in its list; run under the reservation. */
  private @Nullable Supplier<DmaFence> submitter(RadeonBo bo, @Nullable GpuJob job) {
    return job == null ? null : () -> gpu.submit(vm, job, List.of(RadeonSimGart.gpuBo(bo)));
  }

  private @Nullable DmaFence validateAndSubmit(RadeonBo bo, boolean write, @Nullable GpuJob job)
      throws ErrnoException {
    return protocol.validateAndSubmit(bo, write, submitter(bo, job));
  }

  // ---- the GEM handle table -------------------------------------------------------------

  /** The BO of the page, created and registered on first use ({@code RADEON_GEM_USERPTR}). */
  final RadeonBo userptr(long page) throws ErrnoException {
    handles.lock();
    try {
      if (closed) {
        throw new ErrnoException(Errno.EFAULT, gpuName + " is torn down");
      }
      RadeonBo bo = byPage.get(page);
      if (bo == null) {
        bo = newBo(page, PAGE_SIZE);
        byPage.put(page, bo);
      }
      return bo;
    } finally {
      handles.unlock();
    }
  }

  /** Creates and registers a userptr BO over any page-aligned range (tests). Caller: handles. */
  private RadeonBo newBo(long start, long size) throws ErrnoException {
    String name = gpuName + ".bo@0x" + Long.toHexString(start) + "+" + (size / PAGE_SIZE);
    RadeonBo bo =
        new RadeonBo(
            name,
            start,
            size,
            rt.newMutex(name + ".reserve"),
            gart,
            new GpuBo(gpu, name, start, size));
    protocol.register(bo);
    bos.add(bo);
    return bo;
  }

  /** A userptr BO over {@code [start, start + size)}, outside the per-page table (tests). */
  final RadeonBo userptr(long start, long size) throws ErrnoException {
    handles.lock();
    try {
      if (closed) {
        throw new ErrnoException(Errno.EFAULT, gpuName + " is torn down");
      }
      return newBo(start, size);
    } finally {
      handles.unlock();
    }
  }

  /** Validates {@code bo} (and submits nothing) — a CS with an empty IB. */
  final void validate(RadeonBo bo, boolean write) throws ErrnoException {
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, gpuName + ": the process is gone");
    }
    try {
      validateAndSubmit(bo, write, null);
    } finally {
      mm.mmput();
    }
  }

  // ---- the adapter verbs ----------------------------------------------------------------

  @Override
  protected DriverStats stats() {
    return protocol.stats;
  }

  @Override
  public final DriverVariant variant() {
    return protocol.variant;
  }

  /** One CS per page the access touches. */
  private DmaFence commandSubmission(long page, boolean write, GpuJob job) throws ErrnoException {
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, gpuName + ": the process is gone");
    }
    try {
      return Objects.requireNonNull(validateAndSubmit(userptr(page), write, job), "a CS's fence");
    } finally {
      mm.mmput();
    }
  }

  private String jobName(String what) {
    handles.lock();
    try {
      return gpuName + "." + what + (jobs++);
    } finally {
      handles.unlock();
    }
  }

  /** Splits {@code [va, va + 8 * words)} per page and submits one job per page. */
  private RadeonJobFence run(long va, int words, long @Nullable [] data) throws ErrnoException {
    List<DmaFence> fences = new ArrayList<>();
    List<GpuJob> jobList = new ArrayList<>();
    int done = 0;
    while (done < words) {
      long a = va + 8L * done;
      long page = a & -PAGE_SIZE;
      int n = (int) Math.min(words - done, (page + PAGE_SIZE - a) / 8);
      GpuJob job;
      if (data == null) {
        job = GpuJob.builder(jobName("read")).read(a, n).build();
      } else {
        long[] part = new long[n];
        System.arraycopy(data, done, part, 0, n);
        job = GpuJob.builder(jobName("write")).write(a, part).build();
      }
      fences.add(commandSubmission(page, data != null, job));
      jobList.add(job);
      done += n;
    }
    return new RadeonJobFence(rt, fences, jobList);
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    RadeonJobFence f = run(va, words, null);
    f.waitAll();
    if (f.error() != null) {
      throw f.error();
    }
    long[] out = new long[words];
    int done = 0;
    for (GpuJob j : f.jobs()) {
      long[] part = j.readResult(0);
      System.arraycopy(part, 0, out, done, part.length);
      done += part.length;
    }
    return out;
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    checkWrite(va, data);
    RadeonJobFence f = run(va, data.length, data);
    f.waitAll();
    if (f.error() != null) {
      throw f.error();
    }
  }

  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    return run(va, words, data);
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    checkPrefetch(va, length);
    for (long page = va & -PAGE_SIZE; page < va + length; page += PAGE_SIZE) {
      if (!mm.mmgetNotZero()) {
        throw new ErrnoException(Errno.EFAULT, gpuName + ": the process is gone");
      }
      try {
        validateAndSubmit(userptr(page), write, null);
      } finally {
        mm.mmput();
      }
    }
  }

  /**
   * Unregisters every BO (after which no callback touches them), drops the notifier, moves every BO
   * to the CPU (waiting for its jobs), drains the ring and reports the VM gone. Idempotent.
   */
  private void evictAll(List<RadeonBo> all) {
    for (RadeonBo bo : all) {
      bo.reserve.lock();
      try {
        protocol.evictLocked(bo);
      } finally {
        bo.reserve.unlock();
      }
    }
  }

  @Override
  public void teardown() {
    List<RadeonBo> all;
    handles.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      all = List.copyOf(bos);
      bos.clear();
      byPage.clear();
    } finally {
      handles.unlock();
    }
    // Jobs still running use their BOs' pages: wait for them and unbind while the notifier is
    // still registered (a GPU access after the removal is a LIFETIME violation).
    evictAll(all);
    for (RadeonBo bo : all) {
      protocol.unregister(bo);
    }
    protocol.unsubscribe();
    evictAll(all); // a CS that raced the teardown may have bound again
    gpu.shutdown();
    vm.tearDown();
  }
}
