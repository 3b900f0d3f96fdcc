package io.mmulab.sim.gpu;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimProcess;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A userptr buffer object over the user range {@code [start, start + size)}: its {@link DmaResv},
 * its placement, and the frames it is bound with (one per page, obtained by the driver through GUP,
 * or by {@link #pinUserPages}). Bound into a {@link GpuVm} at its user addresses.
 *
 * <p>The BO holds at most one set of pages; each is held by a pin ({@code FOLL_PIN}) or by a plain
 * reference, which {@link #releasePages()} drops.
 *
 * <p>Locking: {@code lock} (a spin lock, {@code <name>.lock}) guards pages, placement and the
 * holding kind; it is a leaf: programming a VM is done after dropping it, from a snapshot. The
 * driver serializes binding against its invalidate callback with its own lock.
 */
public final class GpuBo {
  /** Where the BO's pages are, as far as the GPU is concerned (radeon's TTM placement). */
  public enum Placement {
    /** Not reachable by the GPU: no GPU PTE maps the BO. */
    CPU,
    /** Bound into a GPU VM (GTT / GART / ppGTT). */
    GTT
  }

  private static final int PAGE_SIZE = PhysicalMemory.PAGE_SIZE;

  private final SimGpu gpu;
  private final String name;
  private final long start;
  private final long size;
  private final DmaResv resv;
  private final SpinLock lock;

  // Guarded by lock.
  private long @Nullable [] pfns; // null: no pages held
  private boolean pinned;
  private boolean writable;
  private Placement placement = Placement.CPU;

  /**
   * Creates a BO with no pages, placed on the CPU.
   *
   * @param gpu the GPU
   * @param name for traces (its resv is {@code <name>.resv})
   * @param start the first user address, page aligned
   * @param size bytes, a positive multiple of the page size
   */
  public GpuBo(SimGpu gpu, String name, long start, long size) {
    this.gpu = Objects.requireNonNull(gpu, "gpu is null");
    this.name = Objects.requireNonNull(name, "name is null");
    if ((start & (PAGE_SIZE - 1)) != 0 || size <= 0 || (size & (PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "BO "
              + name
              + ": [0x"
              + Long.toHexString(start)
              + ", +"
              + size
              + ") is not page aligned");
    }
    this.start = start;
    this.size = size;
    this.resv = new DmaResv(gpu.runtime(), name + ".resv");
    this.lock = gpu.runtime().newSpinLock(name + ".lock");
  }

  /**
   * Returns the name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Returns the first user address.
   *
   * @return the start
   */
  public long start() {
    return start;
  }

  /**
   * Returns the size in bytes.
   *
   * @return the size
   */
  public long size() {
    return size;
  }

  /**
   * Returns the exclusive end address.
   *
   * @return {@code start() + size()}
   */
  public long end() {
    return start + size;
  }

  /**
   * Returns the number of pages.
   *
   * @return {@code size() / PAGE_SIZE}
   */
  public int pageCount() {
    return (int) (size / PAGE_SIZE);
  }

  /**
   * Returns the reservation object holding the fences of jobs that use the BO.
   *
   * @return the resv
   */
  public DmaResv resv() {
    return resv;
  }

  /**
   * Returns the placement.
   *
   * @return CPU or GTT
   */
  public Placement placement() {
    lock.lock();
    try {
      return placement;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the frames the BO holds, one per page.
   *
   * @return a copy, or null if it holds none
   */
  public long @Nullable [] pfns() {
    lock.lock();
    try {
      return pfns == null ? null : pfns.clone();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Tells whether the BO holds pages.
   *
   * @return true if it does
   */
  public boolean hasPages() {
    lock.lock();
    try {
      return pfns != null;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Tells whether the pages are held by pins (else by references).
   *
   * @return true if pinned
   */
  public boolean isPinned() {
    lock.lock();
    try {
      return pinned;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes over pages the driver got itself (from {@code getUserPages}): the BO drops them in {@link
   * #releasePages()}.
   *
   * @param pages one frame per page of the BO
   * @param heldByPin true if each holds a pin ({@code FOLL_PIN}), false if a reference
   * @param writableBinding whether {@link #bindInto} maps them writable
   * @throws IllegalStateException if the BO already holds pages
   */
  public void setPages(long[] pages, boolean heldByPin, boolean writableBinding) {
    if (pages.length != pageCount()) {
      throw new IllegalArgumentException(
          "BO " + name + " has " + pageCount() + " pages, got " + pages.length + " frames");
    }
    lock.lock();
    try {
      if (pfns != null) {
        throw new IllegalStateException("BO " + name + " already holds pages");
      }
      pfns = pages.clone();
      pinned = heldByPin;
      writable = writableBinding;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Pins the user pages of the BO ({@code pin_user_pages(FOLL_PIN [| FOLL_WRITE])}) and takes them
   * over as with {@link #setPages}. All or nothing: on a partial result the pages pinned are
   * unpinned and the error is thrown. The caller holds {@code process}'s mmap lock for read.
   *
   * @param process the owner of the range
   * @param write whether the GPU writes (write fault / COW break, writable binding)
   * @throws ErrnoException what GUP reported ({@code EFAULT} when the range is not fully mapped)
   * @throws IllegalStateException if the BO already holds pages (nothing is pinned)
   */
  public void pinUserPages(SimProcess process, boolean write) throws ErrnoException {
    if (hasPages()) {
      throw new IllegalStateException("BO " + name + " already holds pages");
    }
    long[] pages = new long[pageCount()];
    int flags = Gup.FOLL_PIN | (write ? Gup.FOLL_WRITE : 0);
    int got = process.mm().getUserPages(start, pages.length, flags, pages);
    if (got != pages.length) {
      for (int i = 0; i < got; i++) {
        gpu.memory().unpin(pages[i]);
      }
      throw new ErrnoException(
          Errno.EFAULT, "BO " + name + ": pinned " + got + " of " + pages.length + " pages");
    }
    setPages(pages, true, write);
  }

  /**
   * Drops the pages (unpin or put each) and forgets them. The driver unbinds them from every VM and
   * waits for the resv first; a frame whose last holder this was is freed.
   *
   * @return how many pages were released (0 if none were held)
   */
  public int releasePages() {
    long[] old;
    boolean wasPinned;
    lock.lock();
    try {
      old = pfns;
      wasPinned = pinned;
      pfns = null;
      pinned = false;
    } finally {
      lock.unlock();
    }
    if (old == null) {
      return 0;
    }
    for (long pfn : old) {
      if (wasPinned) {
        gpu.memory().unpin(pfn);
      } else {
        gpu.memory().put(pfn);
      }
    }
    return old.length;
  }

  /**
   * Programs the BO's pages into {@code vm} at the BO's user addresses and places the BO in GTT.
   *
   * @param vm a VM of the same GPU
   * @throws IllegalStateException if the BO holds no pages
   */
  public void bindInto(GpuVm vm) {
    long[] snapshot;
    boolean w;
    lock.lock();
    try {
      if (pfns == null) {
        throw new IllegalStateException("BO " + name + " holds no pages to bind");
      }
      snapshot = pfns.clone();
      w = writable;
      placement = Placement.GTT;
    } finally {
      lock.unlock();
    }
    for (int i = 0; i < snapshot.length; i++) {
      vm.bind(start + (long) i * PAGE_SIZE, snapshot[i], w);
    }
  }

  /**
   * Clears the BO's GPU PTEs in {@code vm}, flushes the TLB for its range and places it on the CPU.
   * Pages stay held. Callable from an invalidate callback.
   *
   * @param vm the VM
   * @return how many PTEs were cleared
   */
  public int unbindFrom(GpuVm vm) {
    int n = vm.unbindRange(start, end());
    lock.lock();
    try {
      placement = Placement.CPU;
    } finally {
      lock.unlock();
    }
    return n;
  }

  @Override
  public String toString() {
    return "GpuBo[" + name + " 0x" + Long.toHexString(start) + "+" + size + "]";
  }
}
