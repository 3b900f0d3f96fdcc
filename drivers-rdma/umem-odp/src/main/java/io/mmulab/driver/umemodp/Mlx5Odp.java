package io.mmulab.driver.umemodp;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierFactory;
import io.mmulab.api.NonblockRefusal;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DeviceIds;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.nic.NicImplicitMr;
import io.mmulab.sim.nic.NicMemoryRegion;
import io.mmulab.sim.nic.NicMr;
import io.mmulab.sim.nic.NicPageFault;
import io.mmulab.sim.nic.SimNic;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One mlx5 device context bound to one process (kernel {@code mlx5_ib_dev} with the process's
 * {@code ib_ucontext}): a {@link SimNic}, the explicit ODP regions registered on demand, one
 * implicit ODP region whose children the page-fault handler creates, and the page-fault handler
 * itself (kernel {@code mlx5_ib_eqe_pf_action} → {@code pagefault_single_data_segment} → {@code
 * pagefault_real_mr} / {@code pagefault_implicit_mr}).
 *
 * <p>Locking: {@code regMutex} serializes region and child creation with teardown (kernel: the MR
 * creation paths and {@code odp_lookup}'s child creation); {@code umemsLock} (a leaf spin lock)
 * guards the maps the fault handler looks umems up in, so a lookup never waits for a registration.
 * Order: {@code regMutex} → the mmap lock ({@code mmu_notifier_get}) → {@code umem_rwsem} → {@code
 * umem_mutex}.
 */
final class Mlx5Odp implements UmemOdpContext {
  /** The span of an explicit region registered on demand (the adapter's policy), and of a child. */
  static final long SPAN = 2L << 20;

  private final DriverVariant variant;
  private final AddressSpace mm;
  private final SimMachine machine;
  private final SimNic nic;
  private final DriverStats stats = new DriverStats();
  private final UmemOdpLiveness liveness;
  private final Mutex regMutex;
  private final SpinLock umemsLock;
  private final Map<NicMr, UmemOdpUmem> umems = new LinkedHashMap<>(); // guarded by umemsLock
  private final List<NicMr> explicit = new ArrayList<>(); // guarded by umemsLock
  private final NicImplicitMr imr;
  private final @Nullable UmemOdpPerMm implicitPerMm; // LEGACY: the implicit parent's reference
  private volatile boolean closed; // written under regMutex

  Mlx5Odp(DriverVariant variant, SimProcess process, SimMachine machine) throws ErrnoException {
    this.variant = variant;
    this.mm = process.addressSpace();
    this.machine = machine;
    this.nic = new SimNic(machine, DeviceIds.next(machine, "mlx5_"));
    SyncRuntime rt = machine.runtime();
    this.liveness = new UmemOdpLiveness(rt);
    this.regMutex = rt.newMutex(nic.name() + ".reg_mutex");
    this.umemsLock = rt.newSpinLock(nic.name() + ".umems");
    try {
      if (variant == DriverVariant.LEGACY) {
        // 5.4's core calls no end after a refused non-blockable start: the per-mm notifier's start
        // drops umem_rwsem when it refuses and relies on that.
        process.setNonblockRefusal(NonblockRefusal.LINUX_5_5);
        this.implicitPerMm = mm.getNotifier(perMmFactory()); // the implicit parent's umem
      } else {
        this.implicitPerMm = null; // the consolidated parent has no notifier: each child has one
      }
      this.imr = nic.registerImplicitMr(mm, true, SPAN);
    } catch (ErrnoException | RuntimeException e) {
      nic.shutdown();
      throw e;
    }
    nic.startPageFaultHandler(this::pageFault);
  }

  DriverVariant variant() {
    return variant;
  }

  @Override
  public AddressSpace mm() {
    return mm;
  }

  @Override
  public SyncRuntime runtime() {
    return machine.runtime();
  }

  @Override
  public void subscribed(String deviceId, String subscription, long start, long end) {
    machine.checker().subscriptionInserted(deviceId, subscription, mm.name(), start, end);
  }

  @Override
  public void unsubscribed(String deviceId, String subscription) {
    machine.checker().subscriptionRemoved(deviceId, subscription);
  }

  @Override
  public void callbackEntered(String deviceId, String subscription, long start, long end) {
    machine.checker().invalidateCallbackEntered(deviceId, subscription, mm.name(), start, end);
  }

  @Override
  public void callbackReturned(
      String deviceId, String subscription, long start, long end, long seq) {
    machine
        .checker()
        .invalidateCallbackReturned(deviceId, subscription, mm.name(), start, end, seq);
  }

  @Override
  public long dmaMap(long pfn) {
    return nic.dmaMap(pfn);
  }

  @Override
  public void dmaUnmap(long dmaAddress) {
    nic.dmaUnmap(dmaAddress);
  }

  @Override
  public long dmaAddress(long pfn) {
    return SimNic.dmaAddressOf(pfn);
  }

  @Override
  public void putPage(long pfn) {
    machine.memory().put(pfn);
  }

  @Override
  public MmuNotifierFactory<UmemOdpPerMm> perMmFactory() {
    return UmemOdpPerMm.factory(machine.runtime());
  }

  SimNic nic() {
    return nic;
  }

  @Override
  public DriverStats stats() {
    return stats;
  }

  @Override
  public UmemOdpLiveness liveness() {
    return liveness;
  }

  NicImplicitMr implicitMr() {
    return imr;
  }

  String id() {
    return nic.name();
  }

  // ---------------------------------------------------------------------------------------------
  // Regions

  /** A umem for {@code mr}, under a user reference on the address space (none once it exited). */
  private UmemOdpUmem newUmem(NicMr mr) throws ErrnoException {
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, mm.name() + " has exited");
    }
    try {
      return switch (variant) {
        case LEGACY -> UmemOdpLegacyUmem.get(this, UmemOdpMtt.of(mr));
        case CONSOLIDATED -> new UmemOdpConsolidatedUmem(this, UmemOdpMtt.of(mr));
        case AS_MERGED -> throw new IllegalArgumentException("umem-odp has no AS_MERGED variant");
      };
    } finally {
      mm.mmput();
    }
  }

  /**
   * Returns an explicit ODP region covering {@code [va, va + bytes)}, registering one over the
   * {@link #SPAN}-aligned blocks around it if none does (kernel {@code mlx5_ib_reg_user_mr} with
   * {@code IB_ACCESS_ON_DEMAND}, writable).
   */
  NicMr explicitMr(long va, long bytes) throws ErrnoException {
    NicMr found = findExplicit(va, bytes);
    if (found != null) {
      return found;
    }
    regMutex.lock();
    try {
      requireOpen();
      found = findExplicit(va, bytes);
      if (found != null) {
        return found;
      }
      long start = va & -SPAN;
      long end = ((va + bytes - 1) | (SPAN - 1)) + 1;
      NicMr mr = nic.registerMr(mm, start, end - start, true, CoherencyModel.SHADOW_PTE);
      UmemOdpUmem umem;
      try {
        umem = newUmem(mr);
      } catch (ErrnoException | RuntimeException e) {
        nic.deregister(mr);
        throw e;
      }
      umemsLock.lock();
      try {
        umems.put(mr, umem);
        explicit.add(mr);
      } finally {
        umemsLock.unlock();
      }
      return mr;
    } finally {
      regMutex.unlock();
    }
  }

  private @Nullable NicMr findExplicit(long va, long bytes) {
    umemsLock.lock();
    try {
      for (NicMr mr : explicit) {
        if (mr.covers(va, bytes)) {
          return mr;
        }
      }
      return null;
    } finally {
      umemsLock.unlock();
    }
  }

  @Nullable UmemOdpUmem explicitUmem(NicMr mr) {
    umemsLock.lock();
    try {
      return umems.get(mr);
    } finally {
      umemsLock.unlock();
    }
  }

  /** Kernel {@code implicit_get_child_mr}: the child of {@code va}'s span, created if missing. */
  private @Nullable UmemOdpUmem childUmem(long va) throws ErrnoException {
    NicMr child = imr.child(va).orElse(null);
    if (child != null) {
      return explicitUmem(child);
    }
    regMutex.lock();
    try {
      requireOpen();
      child = imr.child(va).orElse(null);
      if (child != null) {
        return explicitUmem(child);
      }
      long start = imr.childStart(va);
      child = imr.createChild(va, "child@0x" + Long.toHexString(start));
      UmemOdpUmem umem;
      try {
        umem = newUmem(child);
      } catch (ErrnoException | RuntimeException e) {
        imr.destroyChild(child);
        throw e;
      }
      umemsLock.lock();
      try {
        umems.put(child, umem);
      } finally {
        umemsLock.unlock();
      }
      return umem;
    } finally {
      regMutex.unlock();
    }
  }

  private void requireOpen() throws ErrnoException {
    if (closed) {
      throw new ErrnoException(Errno.EINVAL, id() + " is torn down");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Page faults

  /**
   * The page-fault handler: finds the umem (creating an implicit child on demand) and resolves the
   * page; on {@code -EAGAIN} the queue pair is resumed and faults again.
   */
  private void pageFault(NicPageFault f) throws ErrnoException {
    NicMemoryRegion region = f.mr();
    UmemOdpUmem umem =
        region instanceof NicImplicitMr ? childUmem(f.va()) : explicitUmem((NicMr) region);
    if (umem == null) {
      throw new ErrnoException(Errno.EFAULT, region + " has no umem any more");
    }
    if (!umem.pagefault(f.pageAddress(), f.write())) {
      stats.retry();
    }
  }

  /**
   * Kernel {@code mlx5_ib_advise_mr} prefetch: resolves every page of {@code [start, end)} of an
   * explicit region as a fault would, again after each {@code -EAGAIN}.
   */
  void prefetch(long start, long end, boolean write) throws ErrnoException {
    NicMr mr = explicitMr(start, end - start);
    UmemOdpUmem umem = explicitUmem(mr);
    if (umem == null) {
      throw new ErrnoException(Errno.EFAULT, mr + " has no umem any more");
    }
    for (long p = start; p < end; p += AddressSpace.PAGE_SIZE) {
      while (!umem.pagefault(p, write)) {
        stats.retry();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Teardown

  /**
   * Stops the NIC (no fault or work request runs afterwards), then releases every umem (zap, DMA
   * unmap, notifier gone) before destroying its region. Idempotent.
   */
  void close() {
    regMutex.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
    } finally {
      regMutex.unlock();
    }
    nic.shutdown(); // joins the fault handler, which may be waiting for regMutex
    regMutex.lock();
    try {
      Map<NicMr, UmemOdpUmem> all;
      umemsLock.lock();
      try {
        all = new LinkedHashMap<>(umems);
        umems.clear();
        explicit.clear();
      } finally {
        umemsLock.unlock();
      }
      for (Map.Entry<NicMr, UmemOdpUmem> e : all.entrySet()) {
        e.getValue().release();
        if (e.getKey().parent().isPresent()) {
          imr.destroyChild(e.getKey());
        } else {
          nic.deregister(e.getKey());
        }
      }
      nic.deregister(imr);
      if (implicitPerMm != null) {
        mm.putNotifier(implicitPerMm);
      }
    } finally {
      regMutex.unlock();
    }
  }

  boolean isClosed() {
    return closed;
  }

  @Override
  public String toString() {
    return "mlx5 ODP context " + id() + " (" + variant + ") on " + mm.name();
  }
}
