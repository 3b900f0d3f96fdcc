package io.mmulab.sim.mm;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.Machine;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.xen.XenHypervisor;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The simulated machine's memory side: physical memory (with its coherency checker), the page cache
 * of its files, swap space, and the processes whose address spaces drivers mirror.
 *
 * <p>Locking: the page lock ({@code "machine.pages"}, a spin lock) guards every file's store and
 * page cache and the swap slots; it may be taken under a page-table lock and is taken before
 * physical memory's frame locks.
 */
public final class SimMachine implements Machine {
  private final SyncRuntime runtime;
  private final PhysicalMemory memory;
  private final SpinLock pageLock;
  private final SwapSpace swap;
  private final DeviceCoherentPages deviceCoherentPages;
  private final AtomicInteger pids = new AtomicInteger();
  private final AtomicInteger shmems = new AtomicInteger();
  private final List<SimProcess> processes = new CopyOnWriteArrayList<>();
  private final CallbackFailures callbackFailures = new CallbackFailures();
  private final AtomicLong hugeZero = new AtomicLong(NO_HUGE_ZERO);
  private final HugetlbPool hugetlb;
  private @Nullable XenHypervisor xen; // created on first use, guarded by this

  /** {@link #hugeZeroPage} before the first successful allocation. */
  static final long NO_HUGE_ZERO = -1;

  /**
   * Creates a machine over existing physical memory.
   *
   * @param runtime where every lock and wait comes from
   * @param memory the frames (its checker sees every page-table change)
   */
  public SimMachine(SyncRuntime runtime, PhysicalMemory memory) {
    this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    this.memory = Objects.requireNonNull(memory, "memory is null");
    this.pageLock = runtime.newSpinLock("machine.pages");
    this.swap = new SwapSpace(memory, pageLock);
    this.deviceCoherentPages = new DeviceCoherentPages(memory);
    this.hugetlb = new HugetlbPool(runtime, memory);
  }

  /**
   * Creates a machine with {@code frameBudget} frames and a fresh checker.
   *
   * @param runtime where every lock and wait comes from
   * @param frameBudget how many frames physical memory has
   */
  public SimMachine(SyncRuntime runtime, int frameBudget) {
    this(runtime, new PhysicalMemory(runtime, frameBudget, new CoherencyChecker()));
  }

  /**
   * Returns the Xen hypervisor of the machine (its grant tables and grant mappings), created on the
   * first call: a machine without a grant device has none.
   *
   * @return the hypervisor, the same on every call
   */
  public synchronized XenHypervisor xen() {
    if (xen == null) {
      xen = new XenHypervisor(this);
    }
    return xen;
  }

  /**
   * Returns the runtime.
   *
   * @return the runtime
   */
  @Override
  public SyncRuntime runtime() {
    return runtime;
  }

  /**
   * Returns physical memory.
   *
   * @return the memory
   */
  public PhysicalMemory memory() {
    return memory;
  }

  /**
   * Returns the coherency checker.
   *
   * @return the checker of {@link #memory()}
   */
  public CoherencyChecker checker() {
    return memory.checker();
  }

  /**
   * Starts a process with an empty address space and one user reference.
   *
   * @param name its name; the address space is named {@code name#pid}
   * @return the process
   */
  public SimProcess spawnProcess(String name) {
    return newProcess(name);
  }

  /**
   * Creates a file whose contents start as zeros.
   *
   * @param name its name
   * @param pages its size in pages, at least 1
   * @return the file
   */
  public SimFile createFile(String name, long pages) {
    if (pages < 1) {
      throw new IllegalArgumentException("file of " + pages + " pages");
    }
    return new SimFile(name, pages, false, memory, pageLock);
  }

  /**
   * Grows the hugetlb pool (kernel {@code nr_hugepages} of the 2 MiB and 1 GiB sizes) to the given
   * numbers of pages, allocating their frames now; {@code MAP_HUGETLB} mappings reserve and fault
   * pages from it. A 1 GiB page takes 262,144 frames aligned to that count, so the frame budget
   * must reach past the next such boundary.
   *
   * @param pmdPages 2 MiB pages the pool should hold, at least its current count
   * @param pudPages 1 GiB pages the pool should hold, at least its current count
   * @throws ErrnoException {@link io.mmulab.api.Errno#ENOMEM} if physical memory cannot hold them
   *     (the pages allocated before stay in the pool)
   * @throws IllegalArgumentException to shrink the pool
   */
  public void hugetlbPool(int pmdPages, int pudPages) throws ErrnoException {
    hugetlb.grow(HugetlbPool.PMD_ORDER, pmdPages);
    hugetlb.grow(HugetlbPool.PUD_ORDER, pudPages);
  }

  /**
   * Returns the free pages of one size of the hugetlb pool (kernel {@code free_hugepages}),
   * reserved ones included.
   *
   * @param order 9 (2 MiB) or 18 (1 GiB)
   * @return the count
   */
  public int hugetlbFreePages(int order) {
    return hugetlb.free(order);
  }

  /**
   * Returns the reserved pages of one size of the hugetlb pool (kernel {@code resv_hugepages}).
   *
   * @param order 9 (2 MiB) or 18 (1 GiB)
   * @return the count
   */
  public int hugetlbReservedPages(int order) {
    return hugetlb.reserved(order);
  }

  HugetlbPool hugetlb() {
    return hugetlb;
  }

  /**
   * Returns how many swap slots are in use.
   *
   * @return the count
   */
  public int swapSlotsInUse() {
    return swap.usedSlots();
  }

  SimProcess newProcess(String name) {
    SimProcess p = new SimProcess(name, pids.incrementAndGet(), this);
    processes.add(p);
    return p;
  }

  /**
   * Truncates {@code file} to {@code newPages} (kernel {@code truncate_setsize} + {@code
   * truncate_pagecache}): the size shrinks first, so faults past it fail with {@code SIGBUS}; then
   * every address space mapping the file gets, per VMA, a blockable CLEAR from its first page past
   * the new end to the VMA's end that zaps those pages and private copies of them (taking each mmap
   * lock for read, in place of the file's rmap lock); then the page cache drops them.
   *
   * @param file a file of this machine
   * @param newPages the new size in pages, at most the current one
   * @throws IllegalArgumentException if {@code newPages} is negative or above the size
   */
  public void truncate(SimFile file, long newPages) {
    if (newPages < 0 || newPages > file.pages()) {
      throw new IllegalArgumentException(
          "truncate of " + file + " (" + file.pages() + " pages) to " + newPages);
    }
    callbackFailures.run(
        () -> {
          file.setSize(newPages);
          for (SimProcess p : processes) {
            p.truncateMapping(file, newPages);
          }
          file.dropPagesFrom(newPages);
        });
  }

  /**
   * The huge zero page (kernel {@code mm_get_huge_zero_folio}): 512 aligned contiguous frames that
   * stay zero, allocated on first use and kept for the machine's lifetime (the kernel frees it
   * under memory pressure once unused; nothing here needs the frames back). Lock-free, so that a
   * fault may call it without taking a lock the scheduler does not know.
   *
   * @return the first frame, or {@link #NO_HUGE_ZERO} if physical memory cannot hold it now (the
   *     fault then falls back to base pages, as the kernel's does)
   */
  long hugeZeroPage() {
    long head = hugeZero.get();
    if (head != NO_HUGE_ZERO) {
      return head;
    }
    try {
      head = memory.allocContiguous("huge-zero-page", PageTable.HPAGE_ORDER);
    } catch (ErrnoException e) {
      return NO_HUGE_ZERO;
    }
    if (hugeZero.compareAndSet(NO_HUGE_ZERO, head)) {
      return head;
    }
    for (int i = 0; i < PageTable.HPAGE_PAGES; i++) {
      memory.put(head + i);
    }
    return hugeZero.get();
  }

  /** True if {@code pfn} is a frame of the huge zero page. */
  boolean isHugeZeroPfn(long pfn) {
    long head = hugeZero.get();
    return head != NO_HUGE_ZERO && pfn >= head && pfn < head + PageTable.HPAGE_PAGES;
  }

  SimFile newShmemFile(long pages) {
    return new SimFile("shmem#" + shmems.incrementAndGet(), pages, true, memory, pageLock);
  }

  DeviceCoherentPages deviceCoherentPages() {
    return deviceCoherentPages;
  }

  SwapSpace swap() {
    return swap;
  }

  /** What the callbacks of the mm operation running on each thread threw. */
  CallbackFailures callbackFailures() {
    return callbackFailures;
  }

  /** Every process ever started here (an exited one has no mappings left). */
  List<SimProcess> processes() {
    return processes;
  }

  /**
   * Returns the simulated machine behind the driver SPI's view of it.
   *
   * @param machine a machine handed to a driver factory
   * @return the same machine as a {@code SimMachine}
   * @throws IllegalArgumentException if it is not a simulated machine
   */
  public static SimMachine of(Machine machine) {
    if (machine instanceof SimMachine m) {
      return m;
    }
    throw new IllegalArgumentException(machine + " is not a SimMachine");
  }
}
