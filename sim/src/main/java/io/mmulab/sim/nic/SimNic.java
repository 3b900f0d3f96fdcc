package io.mmulab.sim.nic;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.dev.DeviceMmu;
import io.mmulab.sim.dev.DmaEngine;
import io.mmulab.sim.dev.DmaJob;
import io.mmulab.sim.dev.FaultQueue;
import io.mmulab.sim.dev.IommuDomain;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A simulated RDMA NIC (mlx5-like): memory regions with translation tables, one queue pair whose
 * work requests a DMA engine executes through those tables, page-fault events for on-demand paging,
 * and an IOMMU domain through which the driver DMA-maps pages.
 *
 * <pre>{@code
 * SimNic nic = new SimNic(machine, "mlx5_0");                 // engine started
 * NicMr mr = nic.registerMr(mm, start, length, true, CoherencyModel.SHADOW_PTE); // empty table
 * nic.startPageFaultHandler(fault -> { ... mr.umrUpdate(va, nic.dmaMap(pfn), w); }); // resume
 * DmaJob wr = nic.post(NicWorkRequest.rdmaRead(mr, va, 2));   // faults, stalls, resumes
 * wr.fence().waitSignaled(); wr.readResult(0);
 * mr.umrZap(start, end); nic.dmaUnmap(dma);                   // in the invalidate callback
 * nic.deregister(mr); nic.shutdown();                         // always: threads are parked
 * }</pre>
 *
 * <p><b>Queue pair.</b> One engine thread executes the work requests in order; an access that
 * faults keeps it waiting (the queue pair stalls) until the driver resumes or aborts the fault, so
 * later requests wait too. An aborted access fails its request with {@code EFAULT}.
 *
 * <p><b>DMA addresses.</b> {@link #dmaMap} maps a frame into the NIC's IOMMU domain (counted, like
 * {@code dma_map_page}) and returns its DMA address, which is what translation entries hold. An
 * access to a frame the domain does not map is blocked and reported ({@code ISOLATION}). The NIC
 * holds no page reference: a driver that drops its references after mapping (the shadow-PTE model)
 * must zap and unmap in its invalidate callback, before the CPU frees the page.
 *
 * <p>Locking: {@code lock} (a leaf spin lock) guards the key counter and the region map.
 */
public final class SimNic {
  private static final int QP_DEPTH = 16;

  private final SyncRuntime runtime;
  private final PhysicalMemory memory;
  private final String name;
  private final IommuDomain domain;
  private final FaultQueue faults;
  private final DmaEngine qp;
  private final SpinLock lock;
  private final Map<DeviceMmu, NicMemoryRegion> regions = new HashMap<>();
  private int keys;

  /**
   * Creates the NIC with its IOMMU domain ({@code <name>.dom}), page-fault queue ({@code
   * <name>.pfq}) and queue pair ({@code <name>.qp}, started).
   *
   * @param machine the machine it is plugged into
   * @param name a name unique on the machine, used as the prefix of its checker devices
   */
  public SimNic(SimMachine machine, String name) {
    Objects.requireNonNull(machine, "machine is null");
    this.name = Objects.requireNonNull(name, "name is null");
    this.runtime = machine.runtime();
    this.memory = machine.memory();
    this.domain = new IommuDomain(runtime, machine.checker(), name + ".dom");
    this.faults = new FaultQueue(runtime, name + ".pfq");
    this.lock = runtime.newSpinLock(name + ".lock");
    this.qp = new DmaEngine(runtime, name + ".qp", QP_DEPTH, 1).start();
  }

  /**
   * Returns the NIC's name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Returns the runtime its locks and threads come from.
   *
   * @return the runtime
   */
  public SyncRuntime runtime() {
    return runtime;
  }

  /**
   * Returns the IOMMU domain the NIC's accesses go through.
   *
   * @return the domain
   */
  public IommuDomain domain() {
    return domain;
  }

  // ---------------------------------------------------------------------------------------------
  // Memory regions

  /**
   * Registers an explicit region over {@code [start, start + length)} of {@code mm} with an empty
   * table (on-demand paging; a pinning driver fills it at once with {@link NicMr#umrUpdate}).
   *
   * @param mm the address space the region's addresses belong to
   * @param start page-aligned
   * @param length a positive multiple of the page size
   * @param writable whether the NIC may write the region
   * @param model what the checker holds the region's translations to
   * @return the region, checker device {@code <name>.mr<key>}
   * @throws IllegalArgumentException for an unaligned or empty range, or one that wraps
   */
  public NicMr registerMr(
      AddressSpace mm, long start, long length, boolean writable, CoherencyModel model) {
    long mask = AddressSpace.PAGE_SIZE - 1;
    if ((start & mask) != 0
        || length <= 0
        || (length & mask) != 0
        || Long.compareUnsigned(start + length, start) <= 0) {
      throw new IllegalArgumentException(
          "MR at 0x" + Long.toHexString(start) + " + " + length + " is not a page-aligned range");
    }
    int key = nextKey();
    DeviceMmu mmu = newTable(mm, key, model);
    NicMr mr = new NicMr(key, start, start + length, writable, mmu, null, null);
    publish(mmu, mr);
    return mr;
  }

  /**
   * Registers an implicit on-demand-paging region covering all of {@code mm}, with no child yet.
   *
   * @param mm the address space
   * @param writable whether the NIC may write the region
   * @param childSpan the bytes each child covers: a power of two, at least a page
   * @return the region, checker device {@code <name>.mr<key>} ({@code SHADOW_PTE})
   * @throws IllegalArgumentException for a bad span
   */
  public NicImplicitMr registerImplicitMr(AddressSpace mm, boolean writable, long childSpan) {
    if (childSpan < AddressSpace.PAGE_SIZE || Long.bitCount(childSpan) != 1) {
      throw new IllegalArgumentException("child span " + childSpan + " is not a power of two page");
    }
    int key = nextKey();
    DeviceMmu mmu = newTable(mm, key, CoherencyModel.SHADOW_PTE);
    NicImplicitMr mr = new NicImplicitMr(this, key, writable, childSpan, mmu);
    publish(mmu, mr);
    return mr;
  }

  /**
   * Destroys a region: zaps its whole table (no access uses it afterwards) and reports its checker
   * device torn down. Work requests naming it later fail with {@code EINVAL}.
   *
   * @param mr a region of this NIC, not a child (a driver destroys children through their parent)
   * @throws IllegalArgumentException if it is not a registered region of this NIC
   */
  public void deregister(NicMemoryRegion mr) {
    if (mr instanceof NicMr m && m.parent().isPresent()) {
      throw new IllegalArgumentException(mr + " is a child; destroy it through its parent");
    }
    lock.lock();
    try {
      if (regions.remove(mr.mmu()) != mr) {
        throw new IllegalArgumentException(mr + " is not registered on " + name);
      }
    } finally {
      lock.unlock();
    }
    mr.mmu().unmapRange(mr.start(), mr.end());
    mr.mmu().flushTlbAll();
    mr.mmu().tearDown();
  }

  int nextKey() {
    lock.lock();
    try {
      return ++keys;
    } finally {
      lock.unlock();
    }
  }

  private DeviceMmu newTable(AddressSpace mm, int key, CoherencyModel model) {
    return DeviceMmu.builder(runtime, memory, name + ".mr" + key, mm.name())
        .model(model)
        .iommu(domain)
        .faultQueue(faults)
        .build();
  }

  private void publish(DeviceMmu mmu, NicMemoryRegion mr) {
    lock.lock();
    try {
      regions.put(mmu, mr);
    } finally {
      lock.unlock();
    }
  }

  private @Nullable NicMemoryRegion regionOf(DeviceMmu mmu) {
    lock.lock();
    try {
      return regions.get(mmu);
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // DMA mapping

  /**
   * Maps a frame for the NIC (kernel {@code ib_dma_map_page}): one more mapping in the domain.
   *
   * @param pfn the frame
   * @return its DMA address
   */
  public long dmaMap(long pfn) {
    domain.map(pfn);
    return dmaAddressOf(pfn);
  }

  /**
   * Drops one mapping made by {@link #dmaMap} (kernel {@code ib_dma_unmap_page}).
   *
   * @param dmaAddress the address {@code dmaMap} returned
   * @throws IllegalStateException if the frame is not mapped
   */
  public void dmaUnmap(long dmaAddress) {
    domain.unmap(pfnOf(dmaAddress));
  }

  /**
   * Returns the DMA address {@link #dmaMap} gives a frame.
   *
   * @param pfn the frame
   * @return its DMA address
   */
  public static long dmaAddressOf(long pfn) {
    return pfn << AddressSpace.PAGE_SHIFT;
  }

  static long pfnOf(long dmaAddress) {
    if ((dmaAddress & (AddressSpace.PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "DMA address 0x" + Long.toHexString(dmaAddress) + " is not a page's");
    }
    return dmaAddress >>> AddressSpace.PAGE_SHIFT;
  }

  // ---------------------------------------------------------------------------------------------
  // Work requests and page faults

  /**
   * Posts a work request on the queue pair.
   *
   * @param wr the request
   * @return the job executing it: {@code fence()} signals its completion, {@code readResult(0)}
   *     holds what an RDMA READ read
   * @throws ErrnoException {@code EINVAL} if its region is not registered (any more), {@code
   *     EFAULT} if the range is outside the region, {@code EPERM} for a write to a read-only region
   */
  public DmaJob post(NicWorkRequest wr) throws ErrnoException {
    NicMemoryRegion mr = wr.mr();
    if (regionOf(mr.mmu()) != mr) {
      throw new ErrnoException(Errno.EINVAL, mr + " is not registered on " + name);
    }
    if (!mr.covers(wr.va(), wr.bytes())) {
      throw new ErrnoException(
          Errno.EFAULT, wr.words() + " words at 0x" + Long.toHexString(wr.va()) + " outside " + mr);
    }
    boolean write = wr.opcode() == NicWorkRequest.Opcode.RDMA_WRITE;
    if (write && !mr.writable()) {
      throw new ErrnoException(Errno.EPERM, "RDMA WRITE to read-only " + mr);
    }
    DmaJob.Builder b = DmaJob.builder(wr.opcode() + " " + mr.key());
    DmaJob job =
        (write
                ? b.write(mr.mmu(), wr.va(), Objects.requireNonNull(wr.data(), "a WRITE has data"))
                : b.read(mr.mmu(), wr.va(), wr.words()))
            .build();
    qp.submit(job);
    return job;
  }

  /**
   * Starts the NIC's page-fault thread ({@code <name>.pfq.handler}), which hands every fault to
   * {@code handler}.
   *
   * @param handler the driver's handler
   * @throws IllegalStateException if one was started already or the NIC is shut down
   */
  public void startPageFaultHandler(NicPageFault.Handler handler) {
    Objects.requireNonNull(handler, "handler is null");
    faults.startHandler(
        f -> {
          NicMemoryRegion mr = regionOf(f.mmu());
          if (mr == null) { // deregistered while the access waited: nothing left to resolve
            f.cancel();
            return;
          }
          handler.handle(new NicPageFault(mr, f));
        });
  }

  /**
   * Stops the NIC: aborts every fault not answered (their requests fail with {@code EFAULT}) and
   * later ones, then cancels queued requests ({@code EINTR}) and joins the queue pair's thread.
   * Idempotent.
   */
  public void shutdown() {
    faults.close();
    qp.shutdownNow();
  }

  @Override
  public String toString() {
    return "nic " + name;
  }
}
