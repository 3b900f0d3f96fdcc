package io.mmulab.driver.gntdev;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.mm.Vma;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * The grant device every variant shares, bound to the process that opened it: the verbs are the
 * process's loads and stores through its grant mappings, and a page with no grant mapped is granted
 * and mapped by the mmap path first.
 *
 * <p>Scenario buffers stand in for grant mappings: the first access to a VMA's page makes a grant
 * map over the VMA's pages not covered by another map ({@code IOCTL_GNTDEV_MAP_GRANT_REF} and
 * {@code mmap}); each page is granted by the peer domain (the simulation's peer grants the frame
 * the page holds, see {@link io.mmulab.sim.xen.XenHypervisor}) and mapped by the map hypercall. A
 * page whose grant an invalidation took is mapped again by its next access (user space mapping it
 * again). A map whose pages no VMA covers any more has its VMA closed by the next mmap, the
 * stand-in for {@code gntdev_vma_close}: scenario buffers are anonymous memory, with no {@code
 * vm_ops} the simulated munmap could call.
 *
 * <p>Counters: a fault per grant mapped; a retry per access that found its grant gone and mapped it
 * again; an invalidation per callback (per grant map, or per classic start and release); a refusal
 * per non-blockable callback that gave up. Nothing is pinned.
 */
final class GntdevAdapter extends SimDriverAdapter {
  private static final long PAGE_SIZE = AddressSpace.PAGE_SIZE;

  /** Accesses that find their grant gone, mapped again, before the verb gives up. */
  private static final int MAX_ROUNDS = 8;

  /** How long an access waits for a slot's previous grant to be unmapped, per round. */
  private static final long UNMAP_WAIT_NANOS = 1_000_000;

  private final GntdevFile file;
  private final GntdevSimHypervisor hv;
  private final SimProcess process;
  private final PhysicalMemory memory;
  private final SyncRuntime rt;
  private final AtomicBoolean closed = new AtomicBoolean();

  GntdevAdapter(GntdevFile file, GntdevSimHypervisor hv, SimProcess process, SimMachine machine)
      throws ErrnoException {
    super(GntdevFactory.NAME);
    this.file = file;
    this.hv = hv;
    this.process = process;
    this.memory = machine.memory();
    this.rt = machine.runtime();
    file.open();
  }

  /** The open file behind the adapter (tests). */
  GntdevFile file() {
    return file;
  }

  @Override
  protected DriverStats stats() {
    return file.stats;
  }

  @Override
  public DriverVariant variant() {
    return file.variant;
  }

  /** One word through the page's grant mapping, mapping the grant first if there is none. */
  private long access(long va, boolean write, long value) throws ErrnoException {
    requireOpen(closed.get(), file.id);
    long page = va & -PAGE_SIZE;
    ErrnoException busySlot = null;
    for (int round = 1; ; round++) {
      GntdevGrantMap map = file.findMap(process.addressSpace(), page);
      long handle = map == null ? GntdevGrantMap.INVALID_HANDLE : map.handles.get(map.index(page));
      if (handle != GntdevGrantMap.INVALID_HANDLE) {
        try {
          if (write) {
            hv.xen.writeLong(handle, va, value);
            return value;
          }
          return hv.xen.readLong(handle, va);
        } catch (ErrnoException gone) {
          if (gone.errno() != Errno.EFAULT) {
            throw gone;
          }
          file.stats.retry(); // unmapped meanwhile (or read-only for a write): map it again
        }
      }
      if (round == MAX_ROUNDS) {
        if (busySlot != null) {
          throw busySlot; // EAGAIN: another driver still uses the page of the slot's old grant
        }
        throw new ErrnoException(Errno.EBUSY, file.id + ": no progress after " + round + " maps");
      }
      busySlot = null;
      long completed = file.unmapsCompleted.get();
      try {
        mmap(process, page, write);
      } catch (ErrnoException busy) {
        if (busy.errno() != Errno.EAGAIN) {
          throw busy;
        }
        busySlot = busy;
        // The slot's previous grant is still being unmapped (a page another driver uses): wait a
        // while, with no lock held, for an unmap to complete, then try again.
        file.unmapsDone.waitEventTimeout(
            () -> file.unmapsCompleted.get() != completed, UNMAP_WAIT_NANOS);
      }
    }
  }

  /**
   * The mmap path for one page of {@code p}: with its mmap lock held for write, closes the VMAs of
   * maps nothing maps any more, finds or makes the page's grant map and maps the page's grant.
   *
   * @throws ErrnoException {@code EFAULT} for a page with no VMA (or a write to a read-only one),
   *     {@code EAGAIN} while the slot's previous grant is being unmapped, {@code EINVAL} if the
   *     variant refuses the address space
   */
  void mmap(SimProcess p, long page, boolean write) throws ErrnoException {
    // No lookup-then-program window to collide with: the lookup and the map hypercall both run
    // under the mmap lock held for write, which every invalidation of these pages waits for.
    rt.yieldPoint(file.id + ": before the mmap lock");
    AddressSpace as = p.addressSpace();
    if (!as.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, file.id + ": " + p + " is gone");
    }
    RwSemaphore mmapLock = as.mmapLock();
    mmapLock.downWrite();
    try {
      closeDeadVmas(p);
      Vma vma = vmaAt(p, page);
      if (vma == null || !vma.isReadable() || (write && !vma.isWritable())) {
        throw new ErrnoException(Errno.EFAULT, file.id + ": no usable VMA at " + hex(page));
      }
      for (GntdevGrantMap m : file.allMaps()) {
        if (m.covers(as, page) && file.beingRemoved(m, m.index(page))) {
          throw new ErrnoException(Errno.EAGAIN, hex(page) + ": its grant is being unmapped");
        }
      }
      GntdevGrantMap map = file.findMap(as, page);
      if (map == null) {
        map = newMap(as, vma, page);
      }
      int i = map.index(page);
      if (map.handles.get(i) != GntdevGrantMap.INVALID_HANDLE) {
        if (!write) {
          return;
        }
        file.unmapGrantPages(map, i, i + 1); // read-only grant: a write needs a writable one
        if (map.handles.get(i) != GntdevGrantMap.INVALID_HANDLE) {
          throw new ErrnoException(Errno.EAGAIN, hex(page) + ": its grant is being unmapped");
        }
      }
      grant(p, vma, map, i, write);
    } finally {
      mmapLock.upWrite();
      as.mmput();
    }
  }

  /** A map over the VMA's pages around {@code page} that no other map covers. */
  private GntdevGrantMap newMap(AddressSpace as, Vma vma, long page) throws ErrnoException {
    long start = page;
    while (start > vma.start() && file.findMap(as, start - PAGE_SIZE) == null) {
      start -= PAGE_SIZE;
    }
    long end = page + PAGE_SIZE;
    while (end < vma.end() && file.findMap(as, end) == null) {
      end += PAGE_SIZE;
    }
    GntdevGrantMap map = file.addMap(as, start, (int) ((end - start) / PAGE_SIZE));
    file.mmap(map);
    return map;
  }

  /** The peer grants the page's frame and the map hypercall writes it into the page's slot. */
  private void grant(SimProcess p, Vma vma, GntdevGrantMap map, int i, boolean write)
      throws ErrnoException {
    long va = map.va(i);
    long[] pfns = new long[1];
    p.addressSpace().getUserPages(va, 1, write ? Gup.FOLL_WRITE : 0, pfns);
    if (p.pte(va).type() != PteView.Type.PRESENT && vma.isWritable()) {
      memory.put(pfns[0]);
      p.addressSpace().getUserPages(va, 1, Gup.FOLL_WRITE, pfns); // a grant needs a real frame
    }
    try {
      PteView pte = p.pte(va);
      if (pte.type() != PteView.Type.PRESENT) {
        throw new ErrnoException(Errno.EFAULT, file.id + ": no frame to grant at " + hex(va));
      }
      boolean readOnly = !pte.writable();
      int ref = hv.grantForeignAccess(pte.pfn(), readOnly);
      long handle = hv.xen.mapGrant(hv.id, p, va, GntdevSimHypervisor.PEER_DOMID, ref, readOnly);
      map.refs[i] = ref;
      map.handles.set(i, handle);
      file.stats.fault();
    } finally {
      memory.put(pfns[0]);
    }
  }

  /**
   * {@code gntdev_vma_close} for every map of {@code p} no VMA covers any more. Caller: mmap lock.
   */
  private void closeDeadVmas(SimProcess p) {
    for (GntdevGrantMap m : file.allMaps()) {
      if (m.vma && m.mm == p.addressSpace() && !mapped(p, m)) {
        file.unmapGrantPages(m, 0, m.count);
        file.vmaClose(m);
      }
    }
  }

  private static boolean mapped(SimProcess p, GntdevGrantMap m) {
    for (Vma v : p.vmas()) {
      if (Long.compareUnsigned(v.start(), m.end()) < 0
          && Long.compareUnsigned(v.end(), m.start) > 0) {
        return true;
      }
    }
    return false;
  }

  private static @Nullable Vma vmaAt(SimProcess p, long va) {
    for (Vma v : p.vmas()) {
      if (Long.compareUnsigned(va, v.start()) >= 0 && Long.compareUnsigned(va, v.end()) < 0) {
        return v;
      }
    }
    return null;
  }

  private static String hex(long va) {
    return "0x" + Long.toHexString(va);
  }

  // ---- the verbs -----------------------------------------------------------------------------

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    long[] out = new long[words];
    for (int w = 0; w < words; w++) {
      out[w] = access(va + 8L * w, false, 0);
    }
    return out;
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    checkWrite(va, data);
    for (int w = 0; w < data.length; w++) {
      access(va + 8L * w, true, data[w]);
    }
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    checkPrefetch(va, length);
    requireOpen(closed.get(), file.id);
    for (long page = va; page < va + length; page += PAGE_SIZE) {
      mmap(process, page, write);
    }
  }

  /** No job queue: the access runs now and its fence is returned signaled. */
  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    ErrnoException error = null;
    try {
      if (data == null) {
        read(va, words);
      } else {
        write(va, data);
      }
    } catch (ErrnoException e) {
      error = e;
    }
    return completed(error);
  }

  @Override
  public void teardown() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    file.close();
    hv.checker.deviceTornDown(hv.id);
  }
}
