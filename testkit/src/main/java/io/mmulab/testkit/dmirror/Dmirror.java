package io.mmulab.testkit.dmirror;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.FrameState;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.DevicePagemap;
import io.mmulab.sim.mm.MigrateVma;
import io.mmulab.sim.mm.PteView;
import io.mmulab.sim.mm.SimMm;
import io.mmulab.sim.mm.SimProcess;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * One dmirror device ({@code /dev/hmm_dmirrorN}, kernel {@code struct dmirror_device}) of memory
 * type device-private (devices 0 and 1) or device-coherent (devices 2 and 3): the pool of its
 * device memory, the {@code dev_pagemap} whose owner (this object) tags its pages, and the mirrors
 * opened on it. The CPU reaches a coherent page directly (an ordinary present entry, no fault);
 * only MIGRATE_TO_SYS, eviction or a long-term pin moves it back to system memory.
 *
 * <h2>Device memory</h2>
 *
 * <p>Memory comes in chunks of {@link #CHUNK_PAGES} pages (256 MiB); one chunk exists from the
 * start, more are added on demand, and RELEASE drops them all. A device page is a frame of physical
 * memory, allocated when the page is handed out and freed when the CPU page table lets go of it:
 * the frame is both the kernel's {@code ZONE_DEVICE} page (its pfn is what the CPU's device-private
 * entry and {@code hmm_range_fault} name) and the "backing page" that really stores the data. A
 * chunk therefore only counts its pages; freeing the frame (rather than keeping it on a free list)
 * gives the checker a new frame generation for every allocation. A coherent page is freed by
 * whichever path drops the CPU's last reference, without telling the device; the device notices
 * (kernel {@code page_free}) when it next looks at its pages, by the frame's generation. {@link
 * #calloc()} and {@link #cfree()} are the kernel's internal counters. Each page remembers the
 * mirror that migrated it (kernel: the backing page's {@code zone_device_data}) and its address.
 *
 * <p>The CPU fault path ({@link #migrateToRam(SimMm, long)}) and MIGRATE_TO_SYS migrate pages back;
 * RELEASE and every close evict them all. The kernel evicts by device pfn through the reverse map
 * ({@code migrate_device_range}); the simulation has none, so eviction migrates each page at the
 * address it was migrated to, in the address space it was migrated from and in those of every
 * mirror open on this device (a fork child shares the page at the same address). A page mapped only
 * by an address space that no open mirror knows stays where it is.
 *
 * <p>Locking: {@code lock} (spin) guards chunks, pages, counters and the mirror list; it is taken
 * under a mirror's mutex and under the mmap lock, never the reverse. {@code evictLock} (mutex)
 * serializes evictions and is taken before any mmap lock.
 */
public final class Dmirror implements DevicePagemap {
  /** Pages per chunk: 256 MiB of 4 KiB pages (kernel {@code DEVMEM_CHUNK_SIZE}). */
  public static final long CHUNK_PAGES = (256L << 20) >>> AddressSpace.PAGE_SHIFT;

  private static final int PMD_ORDER = 9;

  private final DmirrorDevices devices;
  private final int minor;
  private final int memoryType;
  private final String name;
  private final SyncRuntime rt;
  private final PhysicalMemory memory;
  private final SpinLock lock;
  private final Mutex evictLock;

  // Guarded by lock.
  private final List<Chunk> chunks = new ArrayList<>();
  private final Map<Long, DevicePage> pages = new HashMap<>();
  private final List<DmirrorMirror> mirrors = new ArrayList<>();
  private long calloc;
  private long cfree;
  private int opens;

  /** A chunk of device memory (kernel {@code struct dmirror_chunk}). */
  private static final class Chunk {
    final long capacity = CHUNK_PAGES;
    long used;
    boolean remove;
  }

  /** A device page in use; {@code generation} is its frame's at allocation. */
  private record DevicePage(
      long pfn, long generation, Chunk chunk, DmirrorMirror mirror, SimMm mm, long va) {}

  Dmirror(
      DmirrorDevices devices, int minor, int memoryType, SyncRuntime rt, PhysicalMemory memory) {
    this.devices = devices;
    this.minor = minor;
    this.memoryType = memoryType;
    this.name = "dmirror" + minor;
    this.rt = rt;
    this.memory = memory;
    this.lock = rt.newSpinLock(name + ".lock");
    this.evictLock = rt.newMutex(name + ".devmem_lock");
    chunks.add(new Chunk()); // the kernel allocates one chunk at device init
  }

  /**
   * Opens the device for {@code process} (kernel {@code open()} of the device file): a new mirror
   * bound to the process's address space.
   *
   * @param process the opener (a {@code SimProcess})
   * @param variant {@link DriverVariant#CONSOLIDATED} or {@link DriverVariant#LEGACY}
   * @return the mirror; close it when done
   * @throws ErrnoException {@link Errno#EINVAL} if the process has exited
   * @throws IllegalArgumentException for {@link DriverVariant#AS_MERGED} or a non-simulated process
   */
  public DmirrorMirror open(UserProcess process, DriverVariant variant) throws ErrnoException {
    SimProcess p = SimProcess.of(process);
    String id;
    lock.lock();
    try {
      id = name + ".m" + ++opens;
    } finally {
      lock.unlock();
    }
    DmirrorMirror m = DmirrorMirror.open(this, p, variant, id);
    lock.lock();
    try {
      mirrors.add(m);
    } finally {
      lock.unlock();
    }
    return m;
  }

  /**
   * Returns the minor number.
   *
   * @return 0 to 3
   */
  public int minor() {
    return minor;
  }

  /**
   * Returns the device's name, {@code "dmirror<minor>"}.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Returns the memory type (uapi {@code HMM_DMIRROR_MEMORY_DEVICE_*}).
   *
   * @return {@link DmirrorProt#MEMORY_DEVICE_PRIVATE} or {@link DmirrorProt#MEMORY_DEVICE_COHERENT}
   */
  public int memoryType() {
    return memoryType;
  }

  /**
   * Tells whether this device's memory is device-coherent.
   *
   * @return true for devices 2 and 3
   */
  @Override
  public boolean isCoherent() {
    return memoryType == DmirrorProt.MEMORY_DEVICE_COHERENT;
  }

  /**
   * Returns the pages handed out since the device was created (kernel {@code calloc}).
   *
   * @return the count
   */
  public long calloc() {
    lock.lock();
    try {
      return calloc;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the pages returned to a chunk that was not being removed (kernel {@code cfree}).
   *
   * @return the count
   */
  public long cfree() {
    lock.lock();
    try {
      return cfree;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the number of chunks (0 right after RELEASE).
   *
   * @return the count
   */
  public int chunkCount() {
    lock.lock();
    try {
      return chunks.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns how many device pages are in use.
   *
   * @return the count
   */
  public int pagesInUse() {
    lock.lock();
    try {
      reapFreedCoherentPages();
      return pages.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Tells whether {@code pfn} is a device page of this device in use.
   *
   * @param pfn a frame
   * @return true for this device's page
   */
  public boolean owns(long pfn) {
    lock.lock();
    try {
      DevicePage p = pages.get(pfn);
      if (p != null && freed(p)) {
        free(pages.remove(pfn));
        return false;
      }
      return p != null;
    } finally {
      lock.unlock();
    }
  }

  /** The pagemap owner compared with MIGRATE ranges and {@code devPrivateOwner}: the device. */
  @Override
  public Object owner() {
    return this;
  }

  DmirrorDevices devices() {
    return devices;
  }

  SyncRuntime runtime() {
    return rt;
  }

  PhysicalMemory memory() {
    return memory;
  }

  // ---------------------------------------------------------------------------------------------
  // Allocation and free

  /**
   * Kernel {@code dmirror_devmem_alloc_page}: a device page for {@code va} migrated by {@code
   * owner}, holding one reference (to hand to the migration).
   *
   * @return the page's frame, or {@link CoherencyChecker#NO_PFN} if physical memory is exhausted
   */
  long allocPage(DmirrorMirror owner, long va) {
    long pfn;
    try {
      pfn = memory.alloc(name + " page for " + owner.mmName() + " 0x" + Long.toHexString(va));
    } catch (ErrnoException e) {
      return CoherencyChecker.NO_PFN;
    }
    long generation = isCoherent() ? memory.generation(pfn) : 0;
    lock.lock();
    try {
      Chunk chunk = null;
      for (Chunk c : chunks) {
        if (!c.remove && c.used < c.capacity) {
          chunk = c;
          break;
        }
      }
      if (chunk == null) {
        chunk = new Chunk(); // kernel dmirror_allocate_chunk
        chunks.add(chunk);
      }
      chunk.used++;
      calloc++;
      free(pages.put(pfn, new DevicePage(pfn, generation, chunk, owner, owner.sim(), va)));
    } finally {
      lock.unlock();
    }
    return pfn;
  }

  /** Kernel {@code dmirror_devmem_free}: the page goes back to its chunk unless it is removed. */
  @Override
  public void pageFree(long pfn) {
    lock.lock();
    try {
      free(pages.remove(pfn));
    } finally {
      lock.unlock();
    }
  }

  /** Under {@code lock}. */
  private void free(@Nullable DevicePage p) {
    if (p != null && !p.chunk().remove) {
      p.chunk().used--;
      cfree++;
    }
  }

  /** Under {@code lock}: {@code page_free} for the coherent pages whose frame was freed. */
  private void reapFreedCoherentPages() {
    pages
        .values()
        .removeIf(
            p -> {
              boolean freed = freed(p);
              if (freed) {
                free(p);
              }
              return freed;
            });
  }

  /** A coherent page whose frame was freed (perhaps allocated again since). */
  private boolean freed(DevicePage p) {
    return isCoherent()
        && (memory.state(p.pfn()) != FrameState.ALLOCATED
            || memory.generation(p.pfn()) != p.generation());
  }

  // ---------------------------------------------------------------------------------------------
  // Back to system memory

  /**
   * A CPU access hit one of this device's pages (kernel {@code dmirror_devmem_fault}): migrate the
   * page back. Called with the mmap lock held.
   *
   * @throws ErrnoException {@link Errno#ENOMEM} if no system page could be allocated (the fault
   *     then fails with {@code SIGBUS})
   */
  @Override
  public void migrateToRam(SimMm mm, long addr) throws ErrnoException {
    if (mm.lookup(addr).order() == PMD_ORDER) {
      // A 2 MiB device page goes back whole (kernel: the range is the folio).
      long block = addr & -SimMm.HPAGE_SIZE;
      migrateToRam(mm, block, block + SimMm.HPAGE_SIZE, true);
    } else {
      migrateToRam(mm, addr, addr + AddressSpace.PAGE_SIZE, true);
    }
  }

  /**
   * Migrates this device's pages in {@code [start, end)} (one VMA) back to system memory: kernel
   * {@code migrate_vma_setup} selecting this device's private pages, {@code
   * dmirror_devmem_fault_alloc_and_copy} (which also erases the owning mirror's entry), {@code
   * migrate_vma_pages}, {@code migrate_vma_finalize}. The mmap lock is held.
   *
   * @param failOnNoMemory whether a page left behind for lack of memory fails the call
   * @return pages migrated (kernel {@code dmirror_successful_migrated_pages})
   */
  int migrateToRam(SimMm mm, long start, long end, boolean failOnNoMemory) throws ErrnoException {
    int select =
        isCoherent() ? MigrateVma.SELECT_DEVICE_COHERENT : MigrateVma.SELECT_DEVICE_PRIVATE;
    MigrateVma m = MigrateVma.setup(mm, start, end, this, select);
    ErrnoException noMemory = null;
    try {
      for (int i = 0; i < m.npages(); i++) {
        if (!m.isMigrating(i) || !(m.srcIsDevicePrivate(i) || m.srcIsDeviceCoherent(i))) {
          continue;
        }
        long va = start + ((long) i << AddressSpace.PAGE_SHIFT);
        long dst;
        try {
          dst =
              memory.alloc(
                  mm.mm().name() + " migrated back from " + name + " 0x" + Long.toHexString(va));
        } catch (ErrnoException e) {
          noMemory = e;
          continue;
        }
        DmirrorMirror owner = ownerMirror(m.srcPfn(i));
        if (owner != null && owner.sim() == mm && !owner.isClosed()) {
          owner.erase(va);
        }
        memory.copy(m.srcPfn(i), dst);
        m.setDestination(i, dst);
      }
      m.pages();
    } finally {
      m.finalizeMigration();
    }
    if (noMemory != null && failOnNoMemory) {
      throw noMemory;
    }
    return m.migratedPages();
  }

  private @Nullable DmirrorMirror ownerMirror(long pfn) {
    lock.lock();
    try {
      DevicePage p = pages.get(pfn);
      return p == null ? null : p.mirror();
    } finally {
      lock.unlock();
    }
  }

  /**
   * RELEASE (kernel {@code dmirror_device_remove_chunks}): marks every chunk as being removed,
   * migrates every page in use back to system memory, and drops the chunks; the next allocation
   * creates a new one.
   */
  void removeChunks() {
    evict(true);
  }

  /** A mirror was closed: forget it, then evict everything without removing the chunks. */
  void mirrorClosed(DmirrorMirror m) {
    lock.lock();
    try {
      mirrors.remove(m);
    } finally {
      lock.unlock();
    }
    evict(false);
  }

  private void evict(boolean remove) {
    evictLock.lock();
    try {
      List<DevicePage> victims;
      Set<SimMm> known = new LinkedHashSet<>();
      lock.lock();
      try {
        if (remove) {
          for (Chunk c : chunks) {
            c.remove = true;
          }
        }
        victims = new ArrayList<>(pages.values());
        for (DmirrorMirror m : mirrors) {
          known.add(m.sim());
        }
      } finally {
        lock.unlock();
      }
      for (DevicePage p : victims) {
        Set<SimMm> where = new LinkedHashSet<>();
        where.add(p.mm());
        where.addAll(known);
        for (SimMm s : where) {
          evictFrom(s, p);
        }
      }
      if (remove) {
        lock.lock();
        try {
          chunks.clear();
        } finally {
          lock.unlock();
        }
      }
    } finally {
      evictLock.unlock();
    }
  }

  /** Migrates page {@code p} back in {@code s} if {@code s} still maps it where it was put. */
  private void evictFrom(SimMm s, DevicePage p) {
    if (!s.mm().mmgetNotZero()) {
      return;
    }
    try {
      RwSemaphore mmap = s.mm().mmapLock();
      mmap.downRead();
      try {
        PteView pte = s.lookup(p.va());
        boolean mapped =
            isCoherent()
                ? pte.type() == PteView.Type.PRESENT && owns(p.pfn())
                : pte.type() == PteView.Type.DEVICE_PRIVATE && pte.owner() == this;
        if (mapped && pte.pfn() == p.pfn()) {
          migrateToRam(s, p.va(), p.va() + AddressSpace.PAGE_SIZE, false);
        }
      } finally {
        mmap.upRead();
      }
    } catch (ErrnoException e) {
      // The page's VMA went away between the lookup and the migration: nothing left to evict.
    } finally {
      s.mm().mmput();
    }
  }

  @Override
  public String toString() {
    return name;
  }
}
