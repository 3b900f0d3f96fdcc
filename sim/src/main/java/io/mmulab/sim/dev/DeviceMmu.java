package io.mmulab.sim.dev;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * One device translation context (a GPU VM, an RDMA MR's MTT, a grant map), which is one device of
 * the {@link CoherencyChecker}: a device page table that the driver programs, a TLB that caches its
 * entries, and the DMA accesses that go through them into physical memory.
 *
 * <h2>Page table and TLB</h2>
 *
 * <p>The page table maps a page of the address space {@link #mm()} to a frame, a write permission
 * and the frame's generation when mapped. The driver programs it with {@link #map}, {@link #unmap}
 * and {@link #unmapRange} under its own lock; each reports to the checker inside the section that
 * changes the entry. The TLB is filled by DMA translations and is invalidated <em>only</em> by
 * {@link #flushTlb} and {@link #flushTlbAll}: neither unmapping nor remapping touches it, so a
 * driver that zaps the page table but forgets the flush keeps using the old translation (the
 * checker reports it as a stale use once the invalidate callback returned). The TLB never evicts on
 * its own.
 *
 * <h2>DMA</h2>
 *
 * <p>{@link #readLong}, {@link #writeLong}, {@link #readLongs} and {@link #writeLongs} are the
 * device's DMA accesses (the {@link DmaEngine} uses them; a driver may too, for synchronous device
 * access). For each page touched: translate (TLB hit, or a page-table walk that fills the TLB), a
 * scheduling point ({@code yieldPoint}) where an invalidation can race in, then the accesses
 * through {@link PhysicalMemory}'s device accessors, which report them to the checker with the
 * translation used. A frame outside the device's {@link IommuDomain} (if it has one) is not
 * touched: the checker records an {@code ISOLATION} violation and the access fails with {@code
 * EFAULT}. A missing entry, or a read-only one for a write, is a device page fault: with a {@link
 * FaultQueue} the access waits until the driver replays (then translates again) or cancels (then
 * fails with {@code EFAULT}); without one it fails with {@code EFAULT} at once.
 *
 * <p>A TLB flush returns only when no access that may use a dropped translation is still in flight
 * (hardware: the invalidation waits for outstanding translations), so a driver that zaps and
 * flushes before its callback returns is never reported, however the accesses interleave.
 *
 * <h2>Locking</h2>
 *
 * <ul>
 *   <li>{@code ptLock} (spin lock {@code <id>.pt}) guards the page table, the TLB and {@code
 *       tornDown}; checker events for entries are reported under it. Held only inside this class
 *       and never across a scheduling point other than its own release. A spin lock because drivers
 *       program and zap from callbacks of non-blockable ranges and under their own spin locks.
 *   <li>{@code dmaLock} (spin lock {@code <id>.dma}) is held by a DMA access from its translation
 *       to the end of its accesses to that page; a TLB flush takes and releases it after dropping
 *       the entries. Never held while waiting for a fault. Order: {@code dmaLock}, then {@code
 *       ptLock} or the IOMMU domain's lock, then physical memory's frame locks.
 * </ul>
 */
public final class DeviceMmu {
  /**
   * One page-table (and TLB) entry.
   *
   * @param va the address of the page
   * @param pfn the frame
   * @param writable whether the device may write through it
   * @param generation the frame's generation when the entry was made
   */
  public record Translation(long va, long pfn, boolean writable, long generation) {}

  private static final int PAGE_SHIFT = PhysicalMemory.PAGE_SHIFT;
  private static final int PAGE_SIZE = PhysicalMemory.PAGE_SIZE;

  private final SyncRuntime runtime;
  private final PhysicalMemory memory;
  private final CoherencyChecker checker;
  private final String deviceId;
  private final String mm;
  private final CoherencyModel model;
  private final @Nullable IommuDomain domain; // null: no IOMMU
  private final @Nullable FaultQueue faultQueue; // null: faults are not replayable
  private final SpinLock ptLock;
  private final SpinLock dmaLock;

  // Guarded by ptLock. Keys are virtual page numbers (va >>> PAGE_SHIFT, never negative).
  private final TreeMap<Long, Translation> pageTable = new TreeMap<>();
  private final TreeMap<Long, Translation> tlb = new TreeMap<>();
  private boolean tornDown;

  private DeviceMmu(Builder b) {
    this.runtime = b.runtime;
    this.memory = b.memory;
    this.checker = b.memory.checker();
    this.deviceId = b.deviceId;
    this.mm = b.mm;
    this.model = b.model;
    this.domain = b.domain;
    this.faultQueue = b.faultQueue;
    this.ptLock = runtime.newSpinLock(deviceId + ".pt");
    this.dmaLock = runtime.newSpinLock(deviceId + ".dma");
  }

  /**
   * Starts building a context.
   *
   * @param runtime where locks and scheduling points come from
   * @param memory the frames the device reaches; its checker is told of everything
   * @param deviceId the checker's device id, unique among live devices
   * @param mm the name of the address space the context mirrors, as the checker knows it
   * @return a builder with model {@link CoherencyModel#SHADOW_PTE}, no IOMMU, no fault queue
   */
  public static Builder builder(
      SyncRuntime runtime, PhysicalMemory memory, String deviceId, String mm) {
    return new Builder(runtime, memory, deviceId, mm);
  }

  /** Options of a {@link DeviceMmu}. */
  public static final class Builder {
    private final SyncRuntime runtime;
    private final PhysicalMemory memory;
    private final String deviceId;
    private final String mm;
    private CoherencyModel model = CoherencyModel.SHADOW_PTE;
    private @Nullable IommuDomain domain;
    private @Nullable FaultQueue faultQueue;

    private Builder(SyncRuntime runtime, PhysicalMemory memory, String deviceId, String mm) {
      this.runtime = Objects.requireNonNull(runtime, "runtime is null");
      this.memory = Objects.requireNonNull(memory, "memory is null");
      this.deviceId = Objects.requireNonNull(deviceId, "deviceId is null");
      this.mm = Objects.requireNonNull(mm, "mm is null");
    }

    /**
     * Sets the coherence model the checker holds the device to.
     *
     * @param m the model
     * @return this
     */
    public Builder model(CoherencyModel m) {
      this.model = Objects.requireNonNull(m, "model is null");
      return this;
    }

    /**
     * Puts the device behind an IOMMU domain.
     *
     * @param d the domain
     * @return this
     */
    public Builder iommu(IommuDomain d) {
      this.domain = Objects.requireNonNull(d, "domain is null");
      return this;
    }

    /**
     * Makes page faults replayable: they are queued on {@code q} and the access waits.
     *
     * @param q the fault queue (may be shared by several contexts)
     * @return this
     */
    public Builder faultQueue(FaultQueue q) {
      this.faultQueue = Objects.requireNonNull(q, "faultQueue is null");
      return this;
    }

    /**
     * Creates the context: declares the device to the checker with its model, then attaches it to
     * the IOMMU domain, if any.
     *
     * @return the context
     */
    public DeviceMmu build() {
      DeviceMmu mmu = new DeviceMmu(this);
      mmu.checker.declareDevice(deviceId, model);
      if (domain != null) {
        domain.attach(deviceId);
      }
      return mmu;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Identity

  /**
   * Returns the checker's device id.
   *
   * @return the id
   */
  public String deviceId() {
    return deviceId;
  }

  /**
   * Returns the address space this context mirrors.
   *
   * @return the checker's name of the address space
   */
  public String mm() {
    return mm;
  }

  /**
   * Returns the coherence model.
   *
   * @return the model
   */
  public CoherencyModel model() {
    return model;
  }

  /**
   * Returns the physical memory the device reaches.
   *
   * @return the memory
   */
  public PhysicalMemory memory() {
    return memory;
  }

  /**
   * Returns the IOMMU domain, if any.
   *
   * @return the domain, or null
   */
  public @Nullable IommuDomain iommu() {
    return domain;
  }

  /**
   * Returns the fault queue, if faults are replayable.
   *
   * @return the queue, or null
   */
  public @Nullable FaultQueue faultQueue() {
    return faultQueue;
  }

  // ---------------------------------------------------------------------------------------------
  // Programming (driver side)

  /**
   * Sets the entry of the page of {@code va} to {@code pfn}, replacing any entry (the TLB keeps
   * whatever it cached until flushed). Reports {@code deviceMapped} in the same section.
   *
   * @param va an address in the page
   * @param pfn a frame of the memory (allocated at least once)
   * @param writable whether the device may write through the entry
   */
  public void map(long va, long pfn, boolean writable) {
    map(va, pfn, writable, null);
  }

  /**
   * Like {@link #map(long, long, boolean)} for a device with one subscription per entry: the
   * checker lets only {@code subscription}'s callback invalidate the entry (see {@link
   * CoherencyChecker#deviceMapped(String, String, String, long, long, boolean)}).
   *
   * @param va an address in the page
   * @param pfn a frame of the memory (allocated at least once)
   * @param writable whether the device may write through the entry
   * @param subscription the checker's name of the entry's subscription, or null
   */
  public void map(long va, long pfn, boolean writable, @Nullable String subscription) {
    long vpn = va >>> PAGE_SHIFT;
    ptLock.lock();
    try {
      Translation t = new Translation(vpn << PAGE_SHIFT, pfn, writable, memory.generation(pfn));
      pageTable.put(vpn, t);
      checker.deviceMapped(deviceId, subscription, mm, va, pfn, writable);
    } finally {
      ptLock.unlock();
    }
  }

  /**
   * Removes the entry of the page of {@code va}, if any, reporting {@code deviceUnmapped}. The TLB
   * is not touched.
   *
   * @param va an address in the page
   * @return true if there was an entry
   */
  public boolean unmap(long va) {
    long vpn = va >>> PAGE_SHIFT;
    ptLock.lock();
    try {
      if (pageTable.remove(vpn) == null) {
        return false;
      }
      checker.deviceUnmapped(deviceId, mm, va);
      return true;
    } finally {
      ptLock.unlock();
    }
  }

  /**
   * Removes every entry of {@code [start, endExclusive)}, reporting {@code deviceUnmappedRange} if
   * any existed. The TLB is not touched.
   *
   * @param start first address (unsigned)
   * @param endExclusive exclusive end (unsigned, above {@code start}; {@code -1} is {@code
   *     ULONG_MAX})
   * @return how many entries were removed
   */
  public int unmapRange(long start, long endExclusive) {
    checkRange(start, endExclusive);
    ptLock.lock();
    try {
      var sub =
          pageTable.subMap(start >>> PAGE_SHIFT, true, (endExclusive - 1) >>> PAGE_SHIFT, true);
      int n = sub.size();
      if (n > 0) {
        sub.clear();
        checker.deviceUnmappedRange(deviceId, mm, start, endExclusive);
      }
      return n;
    } finally {
      ptLock.unlock();
    }
  }

  /**
   * Drops every TLB entry of {@code [start, endExclusive)}, then waits until no DMA access that may
   * use one of them is in flight.
   *
   * @param start first address (unsigned)
   * @param endExclusive exclusive end (unsigned, above {@code start}; {@code -1} is {@code
   *     ULONG_MAX})
   */
  public void flushTlb(long start, long endExclusive) {
    checkRange(start, endExclusive);
    ptLock.lock();
    try {
      tlb.subMap(start >>> PAGE_SHIFT, true, (endExclusive - 1) >>> PAGE_SHIFT, true).clear();
    } finally {
      ptLock.unlock();
    }
    drainInFlight();
  }

  /** Drops every TLB entry, then waits until no DMA access is in flight. */
  public void flushTlbAll() {
    ptLock.lock();
    try {
      tlb.clear();
    } finally {
      ptLock.unlock();
    }
    drainInFlight();
  }

  /**
   * Reports the context gone ({@code deviceTornDown}) and detaches it from its IOMMU domain.
   * Nothing in the page table is cleared: a driver must unmap and flush first, and any later
   * mapping or access through this context is a {@code LIFETIME} violation for the checker.
   */
  public void tearDown() {
    ptLock.lock();
    try {
      tornDown = true;
      checker.deviceTornDown(deviceId);
    } finally {
      ptLock.unlock();
    }
    if (domain != null) {
      domain.detach(deviceId); // the domain's later mappings are not this device's events
    }
  }

  /**
   * Tells whether {@link #tearDown()} was called.
   *
   * @return true once torn down
   */
  public boolean isTornDown() {
    ptLock.lock();
    try {
      return tornDown;
    } finally {
      ptLock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection

  /**
   * Returns the page-table entry of the page of {@code va} (not the TLB's).
   *
   * @param va an address
   * @return the entry, or null
   */
  public @Nullable Translation lookup(long va) {
    ptLock.lock();
    try {
      return pageTable.get(va >>> PAGE_SHIFT);
    } finally {
      ptLock.unlock();
    }
  }

  /**
   * Returns the TLB's entry for the page of {@code va}.
   *
   * @param va an address
   * @return the cached translation, or null
   */
  public @Nullable Translation tlbEntry(long va) {
    ptLock.lock();
    try {
      return tlb.get(va >>> PAGE_SHIFT);
    } finally {
      ptLock.unlock();
    }
  }

  /**
   * Returns the number of page-table entries.
   *
   * @return the count
   */
  public int mappedPages() {
    ptLock.lock();
    try {
      return pageTable.size();
    } finally {
      ptLock.unlock();
    }
  }

  /**
   * Returns the number of TLB entries.
   *
   * @return the count
   */
  public int tlbEntries() {
    ptLock.lock();
    try {
      return tlb.size();
    } finally {
      ptLock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Translation and DMA (device side)

  /**
   * Starts a device operation for the checker: a token from {@link CoherencyChecker#beginOperation}
   * for a {@link CoherencyModel#REGISTRATION_CACHE} device (its accesses are judged as of now),
   * {@link CoherencyChecker#NO_OP} for the coherent models.
   *
   * @return the token to pass to the access methods
   */
  public long beginOperation() {
    return model == CoherencyModel.REGISTRATION_CACHE
        ? checker.beginOperation(deviceId)
        : CoherencyChecker.NO_OP;
  }

  /**
   * Translates {@code va} as the device would (TLB, else page-table walk filling the TLB), raising
   * and waiting for a device page fault as a DMA access does. The result is only a lookup: the
   * accesses hold their translation against a concurrent flush; a caller of this method does not.
   *
   * @param va the address
   * @param write true if a writable entry is needed
   * @return the translation
   * @throws ErrnoException {@code EFAULT} if the fault is not replayable or was cancelled
   */
  public Translation translate(long va, boolean write) throws ErrnoException {
    while (true) {
      ptLock.lock();
      Translation t;
      try {
        t = walk(va >>> PAGE_SHIFT, write);
      } finally {
        ptLock.unlock();
      }
      if (t != null) {
        return t;
      }
      fault(va, write);
    }
  }

  /**
   * A DMA read of the word at {@code va} (8-byte aligned), judged as its own use.
   *
   * @param va the address
   * @return the word
   * @throws ErrnoException {@code EFAULT} on an unresolved page fault or an IOMMU fault
   */
  public long readLong(long va) throws ErrnoException {
    return readLong(CoherencyChecker.NO_OP, va);
  }

  /**
   * A DMA read of the word at {@code va} for an operation.
   *
   * @param operation a token from {@link #beginOperation()}, or {@link CoherencyChecker#NO_OP}
   * @param va the address, 8-byte aligned
   * @return the word
   * @throws ErrnoException {@code EFAULT} on an unresolved page fault or an IOMMU fault
   */
  public long readLong(long operation, long va) throws ErrnoException {
    long[] one = new long[1];
    readLongs(operation, va, one);
    return one[0];
  }

  /**
   * A DMA write of the word at {@code va} (8-byte aligned), judged as its own use.
   *
   * @param va the address
   * @param value the word
   * @throws ErrnoException {@code EFAULT} on an unresolved page fault or an IOMMU fault
   */
  public void writeLong(long va, long value) throws ErrnoException {
    writeLong(CoherencyChecker.NO_OP, va, value);
  }

  /**
   * A DMA write of the word at {@code va} for an operation.
   *
   * @param operation a token from {@link #beginOperation()}, or {@link CoherencyChecker#NO_OP}
   * @param va the address, 8-byte aligned
   * @param value the word
   * @throws ErrnoException {@code EFAULT} on an unresolved page fault or an IOMMU fault
   */
  public void writeLong(long operation, long va, long value) throws ErrnoException {
    writeLongs(operation, va, new long[] {value});
  }

  /**
   * A DMA read of {@code dst.length} consecutive words from {@code va}, one translation per page.
   * On a failure the words read so far are in {@code dst}.
   *
   * @param operation a token from {@link #beginOperation()}, or {@link CoherencyChecker#NO_OP}
   * @param va the first address, 8-byte aligned
   * @param dst where the words go
   * @throws ErrnoException {@code EFAULT} on an unresolved page fault or an IOMMU fault
   */
  public void readLongs(long operation, long va, long[] dst) throws ErrnoException {
    burst(operation, va, dst, false);
  }

  /**
   * A DMA write of {@code src} to consecutive words from {@code va}, one translation per page. On a
   * failure the words of the earlier pages are written.
   *
   * @param operation a token from {@link #beginOperation()}, or {@link CoherencyChecker#NO_OP}
   * @param va the first address, 8-byte aligned
   * @param src the words
   * @throws ErrnoException {@code EFAULT} on an unresolved page fault or an IOMMU fault
   */
  public void writeLongs(long operation, long va, long[] src) throws ErrnoException {
    burst(operation, va, src, true);
  }

  private void burst(long operation, long va, long[] words, boolean write) throws ErrnoException {
    if ((va & (Long.BYTES - 1)) != 0) {
      throw new IllegalArgumentException(
          "DMA word address 0x" + Long.toHexString(va) + " is unaligned");
    }
    int i = 0;
    while (i < words.length) {
      long addr = va + (long) i * Long.BYTES;
      int inPage = (PAGE_SIZE - (int) (addr & (PAGE_SIZE - 1))) / Long.BYTES;
      int n = Math.min(words.length - i, inPage);
      accessPage(operation, addr, words, i, n, write);
      i += n;
    }
  }

  /** Accesses {@code n} words of one page from {@code addr}, translating once. */
  private void accessPage(long operation, long addr, long[] words, int from, int n, boolean write)
      throws ErrnoException {
    long vpn = addr >>> PAGE_SHIFT;
    while (true) {
      dmaLock.lock();
      try {
        Translation t;
        ptLock.lock();
        try {
          t = walk(vpn, write);
        } finally {
          ptLock.unlock();
        }
        if (t != null) {
          runtime.yieldPoint(
              deviceId
                  + " translated "
                  + hex(addr)
                  + " -> pfn "
                  + t.pfn()
                  + ", before DMA "
                  + (write ? "write" : "read"));
          for (int k = 0; k < n; k++) {
            long a = addr + (long) k * Long.BYTES;
            if (write) {
              accessWord(operation, a, t.pfn(), true, words[from + k]);
            } else {
              words[from + k] = accessWord(operation, a, t.pfn(), false, 0);
            }
          }
          return;
        }
      } finally {
        dmaLock.unlock();
      }
      fault(addr, write);
    }
  }

  /** One word through the IOMMU (if any) into memory; returns the word read or written. */
  private long accessWord(long operation, long va, long pfn, boolean write, long value)
      throws ErrnoException {
    LongSupplier access =
        write
            ? () -> {
              memory.deviceWriteLong(deviceId, operation, mm, va, pfn, value);
              return value;
            }
            : () -> memory.deviceReadLong(deviceId, operation, mm, va, pfn);
    return domain == null
        ? access.getAsLong()
        : domain.access(deviceId, operation, mm, va, pfn, write, access);
  }

  /** TLB hit, or a page-table walk that fills the TLB; null if no usable entry. Under ptLock. */
  private @Nullable Translation walk(long vpn, boolean write) {
    Translation t = tlb.get(vpn);
    if (t != null && (t.writable() || !write)) {
      return t;
    }
    t = pageTable.get(vpn);
    if (t == null || (write && !t.writable())) {
      return null;
    }
    tlb.put(vpn, t);
    return t;
  }

  /** Raises a page fault for {@code va} and returns once replayed; no lock held. */
  private void fault(long va, boolean write) throws ErrnoException {
    String what = (write ? "write" : "read") + " fault at " + hex(va);
    if (faultQueue == null) {
      throw new ErrnoException(
          Errno.EFAULT,
          deviceId
              + ": device page "
              + what
              + " (no "
              + (write ? "writable " : "")
              + "entry) and the device cannot replay faults");
    }
    runtime.yieldPoint(deviceId + " page " + what);
    DeviceFault f = faultQueue.raise(this, va, write);
    if (!faultQueue.awaitResolution(f)) {
      throw new ErrnoException(
          Errno.EFAULT, deviceId + ": device page " + what + " was cancelled (" + f + ")");
    }
  }

  /** Takes and releases the DMA lock: returns once no access is between translation and end. */
  private void drainInFlight() {
    dmaLock.lock();
    dmaLock.unlock();
  }

  static long pageAddress(long va) {
    return va & ~((long) PAGE_SIZE - 1);
  }

  private static void checkRange(long start, long endExclusive) {
    if (Long.compareUnsigned(start, endExclusive) >= 0) {
      throw new IllegalArgumentException(
          "range start " + hex(start) + " is not below its exclusive end " + hex(endExclusive));
    }
  }

  private static String hex(long v) {
    return "0x" + Long.toHexString(v);
  }

  @Override
  public String toString() {
    return "DeviceMmu[" + deviceId + ", " + mm + ", " + model + "]";
  }
}
