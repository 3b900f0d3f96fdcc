package io.mmulab.sim.xen;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The hypervisor of a simulated machine, as far as a grant device needs it (get it with {@link
 * SimMachine#xen()}).
 *
 * <ul>
 *   <li><b>Grant tables</b>: {@link #grantForeignAccess} records, for a domain, a grant reference
 *       naming one of its frames; {@link #endForeignAccess} revokes it.
 *   <li><b>Map hypercall</b> ({@link #mapGrant}, kernel {@code GNTTABOP_map_grant_ref} with {@code
 *       GNTMAP_contains_pte}): writes the granted frame into the PTE slot of an address of a
 *       process, takes a reference on the frame and remembers the slot under a handle. The caller
 *       holds the process's mmap lock, as {@code gntdev_mmap} does. In the simulation the granting
 *       domain grants the frame the slot already holds (the process's page stands in for the
 *       foreign frame), so the write leaves the entry as it is and the checker can compare the two.
 *   <li><b>Unmap hypercall</b>: {@link #unmapGrant} waits, without a timeout, until no page of the
 *       grant is in use and unmaps (kernel {@code gnttab_unmap_refs_sync}); {@link
 *       #unmapGrantAsync} unmaps at once if nothing is in use, else queues the unmap and completes
 *       it, with the caller's completion, on a hypervisor worker thread once the pages are released
 *       (kernel {@code gnttab_unmap_refs_async}); a queued unmap is in flight for the checker.
 *   <li><b>Pages in use</b>: a pin (kernel {@code FOLL_PIN}, what GPU and RDMA drivers take on user
 *       pages) on a granted frame is a page-in-use reference; every unpin on the machine wakes the
 *       waiters.
 *   <li><b>Accesses</b> through a grant mapping ({@link #readLong}, {@link #writeLong}): what the
 *       process's loads and stores through the grant's PTE reach; a slot whose grant is unmapped or
 *       being unmapped faults ({@code EFAULT}).
 * </ul>
 *
 * <p>Locking: {@code xen.grant-table}, a spin lock, guards the tables and mappings and is held
 * across an access through a mapping (the access is atomic with an unmap, as the hardware's page
 * walk is with the hypervisor's PTE write); under it only frame locks and the checker are taken.
 * Waits for pages in use happen on {@code xen.pages-released} with no lock held.
 */
public final class XenHypervisor {
  /** A grant table entry: a frame of the granting domain. */
  private record Grant(long pfn, boolean readOnly) {}

  /** A grant mapped into a PTE slot. */
  private static final class Mapping {
    final String deviceId;
    final SimProcess process;
    final long va;
    final long pfn;
    final boolean writable;
    boolean unmapQueued;

    Mapping(String deviceId, SimProcess process, long va, long pfn, boolean writable) {
      this.deviceId = deviceId;
      this.process = process;
      this.va = va;
      this.pfn = pfn;
      this.writable = writable;
    }
  }

  private final SyncRuntime runtime;
  private final PhysicalMemory memory;
  private final CoherencyChecker checker;
  private final SpinLock lock;
  private final WaitQueue pagesReleased;

  // Guarded by lock.
  private final Map<Long, Grant> grants = new HashMap<>();
  private final Map<Long, Mapping> mappings = new HashMap<>();
  private int nextRef = 1;
  private long nextHandle = 1;
  private final Map<String, Integer> opened = new HashMap<>();

  /**
   * Creates the hypervisor of a machine; use {@link SimMachine#xen()}.
   *
   * @param machine the machine
   */
  public XenHypervisor(SimMachine machine) {
    this.runtime = machine.runtime();
    this.memory = machine.memory();
    this.checker = machine.checker();
    this.lock = runtime.newSpinLock("xen.grant-table");
    this.pagesReleased = runtime.newWaitQueue("xen.pages-released");
    memory.onUnpin(pagesReleased::wakeUpAll);
  }

  /**
   * Names a new context of a grant device: {@code driver} and a number counted per machine, so a
   * replayed run names its devices (and their locks, which appear in traces) as the original did.
   *
   * @param driver the driver's name
   * @return {@code driver0}, {@code driver1}, ...
   */
  public String nextDeviceId(String driver) {
    lock.lock();
    try {
      int n = opened.merge(driver, 1, Integer::sum) - 1;
      return driver + n;
    } finally {
      lock.unlock();
    }
  }

  private static long key(int domid, int ref) {
    return ((long) domid << 32) | (ref & 0xffff_ffffL);
  }

  /**
   * Domain {@code domid} grants access to its frame {@code pfn} (kernel {@code
   * gnttab_grant_foreign_access}).
   *
   * @param domid the granting domain
   * @param pfn one of its frames
   * @param readOnly whether the grant allows read-only mappings only
   * @return the grant reference
   */
  public int grantForeignAccess(int domid, long pfn, boolean readOnly) {
    lock.lock();
    try {
      int ref = nextRef++;
      grants.put(key(domid, ref), new Grant(pfn, readOnly));
      return ref;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Domain {@code domid} revokes grant {@code ref} (kernel {@code gnttab_end_foreign_access}).
   *
   * @param domid the granting domain
   * @param ref the reference
   * @throws IllegalArgumentException naming the grant if there is no such grant
   */
  public void endForeignAccess(int domid, int ref) {
    lock.lock();
    try {
      if (grants.remove(key(domid, ref)) == null) {
        throw new IllegalArgumentException("no grant " + ref + " of domain " + domid);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * The map hypercall: writes the frame of grant {@code (domid, ref)} into the PTE slot of {@code
   * va} in {@code process} and remembers the slot.
   *
   * @param deviceId the grant device asking, for the checker
   * @param process the process whose PTE slot it is
   * @param va the page-aligned address of the slot
   * @param domid the granting domain
   * @param ref the grant reference
   * @param readOnly map read-only ({@code GNTMAP_readonly})
   * @return the mapping's handle
   * @throws ErrnoException {@link Errno#EINVAL} for an unknown grant, a writable mapping of a
   *     read-only grant, or a slot that cannot take the frame (no present entry for it)
   * @throws IllegalStateException if the caller does not hold the process's mmap lock
   */
  public long mapGrant(
      String deviceId, SimProcess process, long va, int domid, int ref, boolean readOnly)
      throws ErrnoException {
    Objects.requireNonNull(deviceId, "deviceId is null");
    if (!process.mm().mmapLock().isHeldByCurrentThread()) {
      throw new IllegalStateException("map hypercall for " + process + " without its mmap lock");
    }
    PteView pte = process.pte(va);
    lock.lock();
    try {
      Grant g = grants.get(key(domid, ref));
      if (g == null) {
        throw new ErrnoException(Errno.EINVAL, "no grant " + ref + " of domain " + domid);
      }
      if (g.readOnly() && !readOnly) {
        throw new ErrnoException(Errno.EINVAL, "grant " + ref + " is read-only");
      }
      if (pte.type() != PteView.Type.PRESENT || pte.pfn() != g.pfn()) {
        throw new ErrnoException(
            Errno.EINVAL,
            "slot 0x" + Long.toHexString(va) + " of " + process + " cannot take frame " + g.pfn());
      }
      long handle = nextHandle++;
      memory.get(g.pfn());
      mappings.put(handle, new Mapping(deviceId, process, va, g.pfn(), !readOnly));
      checker.grantMapped(deviceId, process.mm().name(), va, g.pfn(), !readOnly, handle);
      return handle;
    } finally {
      lock.unlock();
    }
  }

  /**
   * The synchronous unmap: waits, with no timeout, until the grant's page is no longer in use, then
   * unmaps it. May sleep.
   *
   * @param deviceId the grant device asking, for the checker
   * @param handle a mapping's handle
   * @throws ErrnoException {@link Errno#EINVAL} if the handle is not mapped (reported to the
   *     checker: every grant is unmapped once)
   */
  public void unmapGrant(String deviceId, long handle) throws ErrnoException {
    long pfn = pfnOf(handle);
    if (pfn != CoherencyChecker.NO_PFN) {
      runtime.yieldPoint("xen: unmap of handle " + handle + " waits until its page is unused");
      pagesReleased.waitEvent(() -> !inUse(pfn));
    }
    unmapNow(deviceId, handle);
  }

  /**
   * The asynchronous unmap: unmaps at once if the page is not in use; otherwise queues the unmap
   * and returns, and a hypervisor worker unmaps and then runs {@code done} once the page is
   * released. Never sleeps, so it may be called under a spin lock (only the grant-table lock is
   * taken).
   *
   * @param deviceId the grant device asking, for the checker
   * @param handle a mapping's handle
   * @param done the completion of a queued unmap, run in the worker after the unmap
   * @return true if the grant was unmapped now ({@code done} is not run), false if it was queued
   * @throws ErrnoException {@link Errno#EINVAL} if the handle is not mapped (reported to the
   *     checker), before anything is queued
   */
  public boolean unmapGrantAsync(String deviceId, long handle, Runnable done)
      throws ErrnoException {
    Objects.requireNonNull(done, "done is null");
    long pfn;
    lock.lock();
    try {
      Mapping m = mappings.get(handle);
      if (m == null || !inUse(m.pfn)) {
        unmapLocked(deviceId, handle);
        return true;
      }
      m.unmapQueued = true;
      checker.grantUnmapQueued(handle);
      pfn = m.pfn;
    } finally {
      lock.unlock();
    }
    runtime.spawn(
        "xen-unmap-" + handle,
        () -> {
          pagesReleased.waitEvent(() -> !inUse(pfn));
          try {
            unmapNow(deviceId, handle);
          } catch (ErrnoException e) {
            throw new IllegalStateException("queued unmap of handle " + handle + " failed", e);
          }
          done.run();
        });
    return false;
  }

  /**
   * Whether the handle's unmap is queued and has not completed.
   *
   * @param handle a handle
   * @return true while an asynchronous unmap of it is pending
   */
  public boolean unmapPending(long handle) {
    lock.lock();
    try {
      Mapping m = mappings.get(handle);
      return m != null && m.unmapQueued;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns how many grants are mapped (queued unmaps included) into slots of {@code process}.
   *
   * @param process a process
   * @return the count
   */
  public int mappedInto(SimProcess process) {
    lock.lock();
    try {
      return (int) mappings.values().stream().filter(m -> m.process == process).count();
    } finally {
      lock.unlock();
    }
  }

  /**
   * A load through the grant mapping {@code handle} at {@code va}.
   *
   * @param handle the mapping
   * @param va an 8-byte aligned address in its slot
   * @return the word
   * @throws ErrnoException {@link Errno#EFAULT} if the grant is not mapped, or its unmap is queued
   */
  public long readLong(long handle, long va) throws ErrnoException {
    lock.lock();
    try {
      Mapping m = usable(handle, va, false);
      return memory.cpuReadLong(m.process.mm().name(), va, m.pfn);
    } finally {
      lock.unlock();
    }
  }

  /**
   * A store through the grant mapping {@code handle} at {@code va}.
   *
   * @param handle the mapping
   * @param va an 8-byte aligned address in its slot
   * @param value the word
   * @throws ErrnoException {@link Errno#EFAULT} as {@link #readLong}, or for a read-only mapping
   */
  public void writeLong(long handle, long va, long value) throws ErrnoException {
    lock.lock();
    try {
      Mapping m = usable(handle, va, true);
      memory.cpuWriteLong(m.process.mm().name(), va, m.pfn, value);
    } finally {
      lock.unlock();
    }
  }

  /** Caller: lock. */
  private Mapping usable(long handle, long va, boolean write) throws ErrnoException {
    Mapping m = mappings.get(handle);
    if (m == null || m.unmapQueued || (va & -PhysicalMemory.PAGE_SIZE) != m.va) {
      throw new ErrnoException(
          Errno.EFAULT, "no grant mapping " + handle + " at 0x" + Long.toHexString(va));
    }
    if (write && !m.writable) {
      throw new ErrnoException(Errno.EFAULT, "grant mapping " + handle + " is read-only");
    }
    return m;
  }

  private long pfnOf(long handle) {
    lock.lock();
    try {
      Mapping m = mappings.get(handle);
      return m == null ? CoherencyChecker.NO_PFN : m.pfn;
    } finally {
      lock.unlock();
    }
  }

  /** A page is in use while anybody but its mappings holds a pin on it. */
  private boolean inUse(long pfn) {
    return memory.pincount(pfn) > 0;
  }

  private void unmapNow(String deviceId, long handle) throws ErrnoException {
    lock.lock();
    try {
      unmapLocked(deviceId, handle);
    } finally {
      lock.unlock();
    }
  }

  /** Caller: lock. */
  private void unmapLocked(String deviceId, long handle) throws ErrnoException {
    Mapping m = mappings.remove(handle);
    if (m == null) {
      checker.grantUnmapped(deviceId, handle);
      throw new ErrnoException(Errno.EINVAL, "grant handle " + handle + " is not mapped");
    }
    checker.grantUnmapped(m.deviceId, handle);
    memory.put(m.pfn);
  }
}
