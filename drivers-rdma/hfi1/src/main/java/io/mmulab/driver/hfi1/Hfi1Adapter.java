package io.mmulab.driver.hfi1;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.driver.DeviceIds;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import io.mmulab.sim.hfi.PacketArrival;
import io.mmulab.sim.hfi.Psm;
import io.mmulab.sim.hfi.RcvArray;
import io.mmulab.sim.hfi.SdmaDescriptor;
import io.mmulab.sim.hfi.SdmaEngine;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * One open of {@code /dev/hfi1_N} by a process, with PSM on top: the device's writes to user memory
 * are expected receives (PSM sets the page's TID up, a sender targets it, the chip places the
 * packet), its reads are SDMA sends from the pinned-page cache. Each half is a {@code
 * REGISTRATION_CACHE} device to the checker ({@code <id>.rcv}, {@code <id>.sdma}).
 *
 * <p>Verbs: {@code write} receives (per page); {@code read} sends and returns what was sent; {@code
 * prefetch} for write sets TIDs up for the buffer (one {@code TID_UPDATE}), for read caches the
 * pages' SDMA nodes; {@code submit} of a write receives at once, of a read posts the descriptors
 * and returns a fence the engine signals. Every verb lets PSM poll first.
 */
final class Hfi1Adapter extends SimDriverAdapter {
  /** TIDs in the simulated RcvArray. */
  static final int TIDS = 256;

  private static final long PAGE = AddressSpace.PAGE_SIZE;

  private final DriverVariant variant;
  private final DriverStats stats = new DriverStats();
  private final String id;
  private final CoherencyChecker checker;
  private final AddressSpace mm;
  private final SyncRuntime runtime;
  private final Hfi1ExpRcv expRcv;
  private final Hfi1Sdma sdma;
  private final SdmaEngine engine;
  private final Psm psm;
  private final AtomicBoolean closed = new AtomicBoolean();

  Hfi1Adapter(DriverVariant variant, int psmFreeDelay, SimProcess process, SimMachine sim)
      throws ErrnoException {
    super(Hfi1Factory.NAME);
    this.variant = variant;
    this.id = DeviceIds.next(sim, Hfi1Factory.NAME + "-");
    this.checker = sim.checker();
    SyncRuntime rt = sim.runtime();
    this.runtime = rt;
    this.mm = process.addressSpace();
    String rcvId = id + ".rcv";
    String sdmaId = id + ".sdma";
    checker.declareDevice(rcvId, CoherencyModel.REGISTRATION_CACHE);
    checker.declareDevice(sdmaId, CoherencyModel.REGISTRATION_CACHE);
    RcvArray rcv = new RcvArray(rt, checker, rcvId, mm.name(), TIDS);
    Hfi1TidArray array =
        new Hfi1TidArray() {
          @Override
          public int size() {
            return rcv.size();
          }

          @Override
          public void program(int tid, long va, long pfn, @Nullable String subscription) {
            rcv.program(tid, va, pfn, subscription);
          }

          @Override
          public boolean clear(int tid) {
            return rcv.clear(tid);
          }
        };
    Hfi1Hw rcvHw = new Hfi1SimHw(mm, sim.memory(), checker, rcvId);
    Hfi1Hw sdmaHw = new Hfi1SimHw(mm, sim.memory(), checker, sdmaId);
    this.expRcv =
        switch (variant) {
          case LEGACY -> new Hfi1ExpRcvLegacy(rt, mm, rcvHw, array, stats, rcvId);
          case AS_MERGED -> new Hfi1ExpRcvAsMerged(rt, mm, rcvHw, array, stats, rcvId);
          case CONSOLIDATED -> new Hfi1ExpRcvConsolidated(rt, mm, rcvHw, array, stats, rcvId);
        };
    this.engine = new SdmaEngine(rt, sim.memory(), sdmaId, mm.name());
    engine.start();
    this.sdma =
        new Hfi1Sdma(rt, mm, sdmaHw, engine, stats, sdmaId, variant == DriverVariant.CONSOLIDATED);
    this.psm = new Psm(rt, id, expRcv, new PacketArrival(rt, sim.memory(), rcv), psmFreeDelay);
  }

  @Override
  protected DriverStats stats() {
    return stats;
  }

  @Override
  public DriverVariant variant() {
    return variant;
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    enter();
    try {
      psm.poll();
      return sdma.send(va, words);
    } finally {
      mm.mmput();
    }
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    checkWrite(va, data);
    enter();
    try {
      receive(va, data);
    } finally {
      mm.mmput();
    }
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    checkPrefetch(va, length);
    enter();
    try {
      if (write) {
        psm.post(va, (int) (length / PAGE));
      } else {
        psm.poll();
        for (long p = va; p < va + length; p += PAGE) {
          sdma.prime(p);
        }
      }
    } finally {
      mm.mmput();
    }
  }

  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    enter();
    try {
      if (data != null) {
        receive(va, data);
        return completed(null);
      }
      psm.poll();
      return new SendFence(engine, sdma.post(va, words));
    } catch (ErrnoException e) {
      return completed(e);
    } finally {
      mm.mmput();
    }
  }

  /**
   * A verb is a call from a thread of the process (PSM, an ioctl): it holds a user reference of the
   * address space for its whole run, and there is none once the process exited.
   */
  private void enter() throws ErrnoException {
    runtime.yieldPoint(id + " verb");
    requireOpen(closed.get(), id);
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, id + ": the process has exited");
    }
  }

  private void receive(long va, long[] data) throws ErrnoException {
    for (int i = 0; i < data.length; ) {
      long addr = va + 8L * i;
      int n = Math.min(data.length - i, (int) ((PAGE - (addr & (PAGE - 1))) / 8));
      long[] part = new long[n];
      System.arraycopy(data, i, part, 0, n);
      psm.receive(addr, part);
      i += n;
    }
  }

  @Override
  public void teardown() {
    if (closed.getAndSet(true)) {
      return;
    }
    psm.close();
    expRcv.close();
    sdma.close();
    checker.deviceTornDown(id + ".rcv");
    checker.deviceTornDown(id + ".sdma");
  }

  /** A send's fence: signaled once the engine completed every descriptor. */
  private record SendFence(SdmaEngine engine, List<SdmaDescriptor> ds) implements JobFence {
    @Override
    public boolean isSignaled() {
      return ds.stream().allMatch(SdmaDescriptor::done);
    }

    @Override
    public boolean waitTimeout(long timeoutNanos) {
      return ds.isEmpty() || (engine.await(ds.get(ds.size() - 1), timeoutNanos) && isSignaled());
    }

    @Override
    public @Nullable ErrnoException error() {
      return null;
    }
  }

  @Override
  public String toString() {
    return id + " (" + variant + ")";
  }
}
