package io.mmulab.sim.mm;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.NonblockRefusal;
import io.mmulab.api.driver.UserProcess;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.core.MmStruct;
import io.mmulab.sim.mm.Pte.Present;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A simulated process: a name, an address space ({@link #mm()}, which drivers see as their {@code
 * AddressSpace}) and the system calls and CPU accesses that change or use its page tables. Every
 * operation fires the invalidations the kernel fires (see the table in the module README) and takes
 * the locks the kernel takes; none may be called with the page-table lock held, and only {@link
 * #load}/{@link #store} may be called with the mmap lock already held.
 */
public final class SimProcess implements UserProcess {
  private static final int MAX_CPU_FAULTS = 10_000;

  private final String name;
  private final int pid;
  private final SimMachine machine;
  private final MmStruct mm;
  private final SimMm sim;
  private final VmaOps vmaOps;
  private final PageOps pageOps;
  private volatile boolean exited;

  SimProcess(String name, int pid, SimMachine machine) {
    this.name = Objects.requireNonNull(name, "name is null");
    this.pid = pid;
    this.machine = machine;
    this.mm = new MmStruct(machine.runtime(), name + "#" + pid, m -> new SimMm(m, machine));
    this.sim = (SimMm) mm.backend();
    this.vmaOps = new VmaOps(sim);
    this.pageOps = new PageOps(sim);
  }

  /**
   * Returns the name given at creation.
   *
   * @return the name
   */
  @Override
  public String name() {
    return name;
  }

  /**
   * Returns the process id, unique in the machine.
   *
   * @return the pid
   */
  public int pid() {
    return pid;
  }

  /**
   * Returns the machine.
   *
   * @return the machine
   */
  public SimMachine machine() {
    return machine;
  }

  /**
   * Selects what the notifier core of this address space does when a classic notifier refuses a
   * non-blockable start: a legacy port selects the rule of the kernel it was written for.
   *
   * @param rule the rule
   */
  public void setNonblockRefusal(NonblockRefusal rule) {
    mm.setNonblockRefusal(rule);
  }

  /**
   * Returns the address space, which drivers see as an {@code AddressSpace}.
   *
   * @return the mm
   */
  public MmStruct mm() {
    return mm;
  }

  /**
   * Returns the simulated memory manager of the address space.
   *
   * @return the backend
   */
  public SimMm sim() {
    return sim;
  }

  /**
   * Tells whether {@link #exit} was called.
   *
   * @return true after exit
   */
  public boolean isExited() {
    return exited;
  }

  // ---------------------------------------------------------------------------------------------
  // VMA system calls

  /**
   * Maps anonymous memory, or a raw pfn or mixed mapping ({@code MAP_PFNMAP}, {@code
   * MAP_MIXEDMAP}).
   *
   * @param addr hint, or the address with {@code MAP_FIXED}; 0 for any
   * @param length bytes, rounded up to pages
   * @param prot {@code PROT_*}
   * @param flags {@code MAP_*}: exactly one of {@code MAP_SHARED}, {@code MAP_PRIVATE}; {@code
   *     MAP_ANONYMOUS} unless a raw mapping
   * @return the address
   * @throws ErrnoException {@link Errno#EINVAL} for bad arguments, {@link Errno#ENOMEM} if no room
   */
  public long mmap(long addr, long length, int prot, int flags) throws ErrnoException {
    return mmap(addr, length, prot, flags, null, 0);
  }

  /**
   * Maps memory (kernel {@code mmap}); with {@code MAP_FIXED} whatever was there is unmapped first
   * (UNMAP).
   *
   * @param addr hint, or the address with {@code MAP_FIXED}; 0 for any
   * @param length bytes, rounded up to pages
   * @param prot {@code PROT_*}
   * @param flags {@code MAP_*}
   * @param file the file for a file mapping, else null
   * @param offset byte offset in the file, page-aligned
   * @return the address
   * @throws ErrnoException {@link Errno#EINVAL} for bad arguments, {@link Errno#ENOMEM} if no room
   */
  public long mmap(long addr, long length, int prot, int flags, @Nullable SimFile file, long offset)
      throws ErrnoException {
    return op(
        () -> {
          RwSemaphore lock = writeLock();
          try {
            return vmaOps.mmap(addr, length, prot, flags, file, offset);
          } finally {
            lock.upWrite();
          }
        });
  }

  /**
   * Unmaps {@code [addr, addr + length)} (kernel {@code munmap}): UNMAP over exactly that range if
   * any VMA intersects it, splitting VMAs cut by its ends. The mmap lock is taken for write and
   * downgraded to read once the VMAs are detached, before the zap, as the kernel does since 4.20.
   *
   * @param addr page-aligned
   * @param length bytes, rounded up to pages
   * @throws ErrnoException {@link Errno#EINVAL} for an unaligned address or bad length, or an end
   *     inside a hugetlb page
   */
  public void munmap(long addr, long length) throws ErrnoException {
    opVoid(
        () -> {
          long len = checkRange(addr, length);
          RwSemaphore lock = writeLock();
          try {
            vmaOps.checkHugetlbCuts(addr, addr + len);
            vmaOps.munmap(addr, len, true);
          } finally {
            if (lock.isWriteHeldByCurrentThread()) {
              lock.upWrite();
            } else {
              lock.upRead();
            }
          }
        });
  }

  /**
   * Changes protection (kernel {@code mprotect}): PROTECTION_VMA per VMA, from its first populated
   * 1 GiB region.
   *
   * @param addr page-aligned
   * @param length bytes, rounded up to pages
   * @param prot {@code PROT_*}
   * @throws ErrnoException {@link Errno#ENOMEM} if part of the range is unmapped, {@link
   *     Errno#EINVAL} for bad arguments
   */
  public void mprotect(long addr, long length, int prot) throws ErrnoException {
    opVoid(
        () -> {
          long len = checkRange(addr, length);
          RwSemaphore lock = writeLock();
          try {
            vmaOps.mprotect(addr, len, prot);
          } finally {
            lock.upWrite();
          }
        });
  }

  /**
   * Gives advice (kernel {@code madvise}): {@code DONTNEED} and {@code FREE} fire CLEAR per VMA
   * part of the range (mmap lock for read); {@code HUGEPAGE} and {@code NOHUGEPAGE} change the
   * VMAs' huge-page hint, splitting them at the range's ends, and fire nothing; {@code COLLAPSE}
   * collapses every aligned 2 MiB block inside the range into a huge page now (CLEAR of each block;
   * mmap lock for write, as khugepaged takes it).
   *
   * @param addr page-aligned
   * @param length bytes, rounded up to pages
   * @param advice what to do
   * @throws ErrnoException {@link Errno#EINVAL} for a VMA the advice does not apply to (and, for
   *     {@code COLLAPSE}, a block with entries that cannot be collapsed), {@link Errno#EAGAIN} if
   *     {@code COLLAPSE} met a shared or pinned page, {@link Errno#ENOMEM} if part of the range is
   *     unmapped (the rest is still done) or no huge page could be allocated
   */
  public void madvise(long addr, long length, Madvise advice) throws ErrnoException {
    opVoid(
        () -> {
          long len = checkRange(addr, length);
          Objects.requireNonNull(advice, "advice is null");
          if (advice == Madvise.HUGEPAGE
              || advice == Madvise.NOHUGEPAGE
              || advice == Madvise.COLLAPSE) {
            RwSemaphore lock = writeLock();
            try {
              if (advice == Madvise.COLLAPSE) {
                pageOps.madviseCollapse(addr, addr + len);
              } else {
                vmaOps.hugepageAdvice(addr, len, advice == Madvise.HUGEPAGE);
              }
            } finally {
              lock.upWrite();
            }
            return;
          }
          RwSemaphore lock = readLock();
          try {
            vmaOps.madvise(addr, len, advice);
          } finally {
            lock.upRead();
          }
        });
  }

  /**
   * Marks the present pages of readable VMAs in the range inaccessible for NUMA hinting (kernel
   * {@code change_prot_numa}): PROTECTION_VMA; the next access restores them without invalidation.
   *
   * @param addr page-aligned
   * @param length bytes
   * @throws ErrnoException {@link Errno#EINVAL} for bad arguments
   */
  public void numaProtect(long addr, long length) throws ErrnoException {
    opVoid(
        () -> {
          long len = checkRange(addr, length);
          RwSemaphore lock = readLock();
          try {
            vmaOps.numaProtect(addr, len);
          } finally {
            lock.upRead();
          }
        });
  }

  /**
   * Forks (kernel {@code fork}): the child gets a copy of every VMA; private memory is shared
   * copy-on-write (PROTECTION_PAGE over each private VMA with anonymous pages).
   *
   * @param childName the child's name
   * @return the child, with one user reference
   * @throws ErrnoException {@link Errno#ENOMEM} if a pinned page's copy could not be allocated
   * @throws RuntimeException what a callback threw (an {@link Error} likewise): the copy completed,
   *     then the child, which cannot be returned, was torn down
   */
  public SimProcess fork(String childName) throws ErrnoException {
    SimProcess child = machine.newProcess(childName);
    try {
      opVoid(
          () -> {
            RwSemaphore lock = writeLock();
            try {
              new Forker(sim).copyInto(child.sim);
            } finally {
              lock.upWrite();
            }
          });
    } catch (ErrnoException | RuntimeException | Error e) {
      // A failed copy, or a callback that threw once the copy completed: the caller gets no
      // child, so it is torn down before the throwable is reported.
      child.exit();
      throw e;
    }
    return child;
  }

  /**
   * Forks with the child named after the parent.
   *
   * @return the child
   * @throws ErrnoException as {@link #fork(String)}
   */
  public SimProcess fork() throws ErrnoException {
    return fork(name + ".child");
  }

  /**
   * Drops the process's user reference (kernel {@code exit} → {@code mmput}); if it was the last,
   * the address space is torn down: RELEASE over {@code [0, ULONG_MAX)}, then UNMAP over {@code [0,
   * ULONG_MAX)} covering every VMA. A driver still holding a user reference delays the teardown to
   * its own {@code mmput}.
   *
   * @throws IllegalStateException if called twice
   */
  public void exit() {
    if (exited) {
      throw new IllegalStateException(this + " already exited");
    }
    exited = true;
    mm.mmput();
  }

  // ---------------------------------------------------------------------------------------------
  // CPU accesses

  /**
   * A CPU load of the word at {@code va}, faulting as needed.
   *
   * @param va 8-byte aligned address
   * @return the word
   * @throws ErrnoException {@link Errno#EFAULT} for {@code SIGSEGV}/{@code SIGBUS}, {@link
   *     Errno#ENOMEM} if a fault could not allocate
   * @throws IllegalArgumentException if {@code va} is not 8-byte aligned (nothing is faulted)
   */
  public long load(long va) throws ErrnoException {
    return access(va, false, 8, 0);
  }

  /**
   * A CPU store of the word at {@code va}, faulting as needed (copy-on-write breaks, zero-page
   * replacement, swap-in, migration back from device memory, device-exclusive restore).
   *
   * @param va 8-byte aligned address
   * @param value the word
   * @throws ErrnoException as {@link #load}
   * @throws IllegalArgumentException if {@code va} is not 8-byte aligned (nothing is faulted)
   */
  public void store(long va, long value) throws ErrnoException {
    access(va, true, 8, value);
  }

  /**
   * A CPU load of the byte at {@code va}.
   *
   * @param va the address
   * @return the byte
   * @throws ErrnoException as {@link #load}
   */
  public byte loadByte(long va) throws ErrnoException {
    return (byte) access(va, false, 1, 0);
  }

  /**
   * A CPU store of the byte at {@code va}.
   *
   * @param va the address
   * @param value the byte
   * @throws ErrnoException as {@link #load}
   */
  public void storeByte(long va, byte value) throws ErrnoException {
    access(va, true, 1, value);
  }

  /**
   * The CPU: under the page-table lock, an accessible entry with the right permission is used at
   * once (the access happens inside the lock, so it never uses an entry that has changed); else a
   * page fault under the mmap lock (taken for read unless the caller holds it) and retry.
   */
  private long access(long va, boolean write, int width, long value) throws ErrnoException {
    return this.<Long, ErrnoException>op(
        () -> {
          requireAlive();
          if ((va & (width - 1)) != 0) {
            throw new IllegalArgumentException(
                "unaligned "
                    + width
                    + "-byte CPU "
                    + (write ? "store" : "load")
                    + " at in-page offset "
                    + (va & (SimMm.PAGE_SIZE - 1))
                    + " (0x"
                    + Long.toHexString(va)
                    + ") in "
                    + this
                    + ": words must be "
                    + width
                    + "-byte aligned");
          }
          long page = va & -SimMm.PAGE_SIZE;
          String mmName = mm.name();
          for (int i = 0; i < MAX_CPU_FAULTS; i++) {
            SpinLock ptl = sim.pt.ptl();
            ptl.lock();
            try {
              if (sim.pt.get(page) instanceof Present p
                  && p.accessible()
                  && (!write || p.writable())) {
                if (write) {
                  if (!p.dirty()) {
                    sim.pt.set(page, p.withDirty(true));
                  }
                  if (width == 8) {
                    sim.memory.cpuWriteLong(mmName, va, p.pfn(), value);
                  } else {
                    sim.memory.cpuWriteByte(mmName, va, p.pfn(), (byte) value);
                  }
                  return 0L;
                }
                return width == 8
                    ? sim.memory.cpuReadLong(mmName, va, p.pfn())
                    : sim.memory.cpuReadByte(mmName, va, p.pfn());
              }
            } finally {
              ptl.unlock();
            }
            sim.rt.yieldPoint("cpu: page fault at 0x" + Long.toHexString(page));
            RwSemaphore lock = mm.mmapLock();
            boolean held = lock.isHeldByCurrentThread();
            if (!held) {
              lock.downRead();
            }
            try {
              Vma vma = sim.findVma(page);
              if (vma == null) {
                throw FaultHandler.segv(va, "no mapping");
              }
              if (write ? !vma.isWritable() : !vma.isReadable()) {
                throw FaultHandler.segv(va, (write ? "write" : "read") + " not allowed by " + vma);
              }
              sim.faults.fault(vma, page, write, false);
            } finally {
              if (!held) {
                lock.upRead();
              }
            }
          }
          throw new IllegalStateException(
              "CPU access at 0x"
                  + Long.toHexString(va)
                  + " in "
                  + this
                  + " faulted "
                  + MAX_CPU_FAULTS
                  + " times");
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Memory management events

  /**
   * Migrates the anonymous pages of {@code [start, end)} to new frames (kernel {@code
   * migrate_vma_*} from system to system memory): MIGRATE with {@code owner} per VMA part, frames
   * replaced, old frames freed after finalize. Takes the mmap lock for read.
   *
   * @param start page-aligned
   * @param end page-aligned
   * @param owner the MIGRATE ranges' owner (may be null)
   * @return pages migrated
   * @throws ErrnoException {@link Errno#ENOMEM} if a destination could not be allocated
   */
  public int migrate(long start, long end, Object owner) throws ErrnoException {
    return op(
        () -> {
          checkBounds(start, end);
          RwSemaphore lock = readLock();
          try {
            return MigrateVma.migrate(sim, start, end, owner);
          } finally {
            lock.upRead();
          }
        });
  }

  /**
   * Migrates {@code [start, end)} (inside one VMA) into device-private memory: MIGRATE with the
   * pagemap's owner; a later CPU access migrates a page back through the pagemap.
   *
   * @param start page-aligned
   * @param end page-aligned
   * @param pagemap the device memory
   * @return pages migrated
   * @throws ErrnoException {@link Errno#EINVAL} if not inside one anonymous-capable VMA, {@link
   *     Errno#ENOMEM}
   */
  public int migrateToDevice(long start, long end, DevicePagemap pagemap) throws ErrnoException {
    return op(
        () -> {
          checkBounds(start, end);
          RwSemaphore lock = readLock();
          try {
            return MigrateVma.migrateToDevice(sim, start, end, pagemap);
          } finally {
            lock.upRead();
          }
        });
  }

  /**
   * Clears the soft-dirty bits of the whole address space (kernel {@code clear_refs} with {@code
   * CLEAR_REFS_SOFT_DIRTY}): one SOFT_DIRTY over {@code [0, ULONG_MAX)} write-protecting writable
   * exclusive anonymous pages; the next write reuses the page. Takes the mmap lock for read.
   *
   * @return entries write-protected
   */
  public int clearSoftDirty() {
    return op(
        () -> {
          requireAlive();
          RwSemaphore lock = readLock();
          try {
            return pageOps.clearSoftDirty();
          } finally {
            lock.upRead();
          }
        });
  }

  /**
   * Moves {@code [from, from + length)}, inside one VMA, to {@code to}: {@link #mremap(long, long,
   * long, int, long)} with {@code MREMAP_MAYMOVE | MREMAP_FIXED} and the same length.
   *
   * @param from page-aligned source
   * @param length bytes, rounded up to pages
   * @param to page-aligned target, not overlapping the source
   * @throws ErrnoException as {@link #mremap(long, long, long, int, long)}
   */
  public void mremap(long from, long length, long to) throws ErrnoException {
    mremap(from, length, length, Mman.MREMAP_MAYMOVE | Mman.MREMAP_FIXED, to);
  }

  /**
   * Kernel {@code mremap}: shrinks, grows or moves {@code [oldAddr, oldAddr + oldLength)}, which
   * must lie inside one VMA. Shrinking unmaps the tail (UNMAP); growing extends the VMA in place if
   * the addresses after it are free, else moves it ({@code MREMAP_MAYMOVE}); {@code MREMAP_FIXED}
   * moves it to {@code newAddr}, unmapping what was there first (UNMAP); {@code MREMAP_DONTUNMAP}
   * moves the pages but leaves the old VMA in place, empty. A move fires UNMAP over the old range
   * while the entries (present, swapped, device-private, device-exclusive) move, then UNMAP over it
   * again as it is unmapped (not with {@code MREMAP_DONTUNMAP}); a huge mapping moved whole to a 2
   * MiB-aligned place stays huge, any other is split first (CLEAR of its block). Takes the mmap
   * lock for write.
   *
   * @param oldAddr page-aligned start of the range
   * @param oldLength its bytes, rounded up to pages
   * @param newLength the new size in bytes, rounded up to pages
   * @param flags {@link Mman#MREMAP_MAYMOVE}, {@link Mman#MREMAP_FIXED}, {@link
   *     Mman#MREMAP_DONTUNMAP}
   * @param newAddr the target with {@code MREMAP_FIXED}, else ignored
   * @return the address of the remapped range
   * @throws ErrnoException {@link Errno#EINVAL} for unknown flags, an unaligned address, {@code
   *     MREMAP_FIXED} or {@code MREMAP_DONTUNMAP} without {@code MREMAP_MAYMOVE}, {@code
   *     MREMAP_DONTUNMAP} with a size change or on a raw mapping, a zero length, a target past the
   *     end of user space or overlapping the source; {@link Errno#EFAULT} if the range is not
   *     inside one VMA, or to grow a raw mapping; {@link Errno#ENOMEM} if it cannot grow in place
   *     without {@code MREMAP_MAYMOVE} or no room is left
   */
  public long mremap(long oldAddr, long oldLength, long newLength, int flags, long newAddr)
      throws ErrnoException {
    return op(
        () -> {
          if ((flags & ~Mman.MREMAP_ALL) != 0) {
            throw new ErrnoException(Errno.EINVAL, "mremap flags 0x" + Integer.toHexString(flags));
          }
          if ((oldAddr & (SimMm.PAGE_SIZE - 1)) != 0) {
            throw new ErrnoException(
                Errno.EINVAL, "mremap of unaligned 0x" + Long.toHexString(oldAddr));
          }
          boolean mayMove = (flags & Mman.MREMAP_MAYMOVE) != 0;
          if ((flags & Mman.MREMAP_FIXED) != 0 && !mayMove) {
            throw new ErrnoException(Errno.EINVAL, "MREMAP_FIXED without MREMAP_MAYMOVE");
          }
          long oldLen = pageAlign(oldLength);
          long newLen = pageAlign(newLength);
          if ((flags & Mman.MREMAP_DONTUNMAP) != 0 && (!mayMove || oldLen != newLen)) {
            throw new ErrnoException(
                Errno.EINVAL,
                "MREMAP_DONTUNMAP needs MREMAP_MAYMOVE and an unchanged length ("
                    + oldLength
                    + " -> "
                    + newLength
                    + ")");
          }
          if (oldLen <= 0 || newLen <= 0) {
            // The kernel accepts a zero old length only to duplicate a shared mapping, which the
            // simulator does not model.
            throw new ErrnoException(
                Errno.EINVAL, "mremap lengths " + oldLength + " -> " + newLength);
          }
          if ((flags & Mman.MREMAP_FIXED) != 0) {
            if ((newAddr & (SimMm.PAGE_SIZE - 1)) != 0
                || newAddr < 0
                || newLen > SimMm.TASK_SIZE
                || newAddr > SimMm.TASK_SIZE - newLen) {
              throw new ErrnoException(
                  Errno.EINVAL, "mremap target 0x" + Long.toHexString(newAddr) + " not valid");
            }
            if (newAddr < oldAddr + oldLen && oldAddr < newAddr + newLen) {
              throw new ErrnoException(Errno.EINVAL, "mremap target overlaps the source");
            }
          }
          RwSemaphore lock = writeLock();
          try {
            return pageOps.mremap(vmaOps, oldAddr, oldLen, newLen, flags, newAddr);
          } finally {
            lock.upWrite();
          }
        });
  }

  private static long pageAlign(long length) {
    if (length < 0 || length > SimMm.TASK_SIZE) {
      return -1;
    }
    return (length + SimMm.PAGE_SIZE - 1) & -SimMm.PAGE_SIZE;
  }

  /**
   * Writes back the shared file pages of {@code [start, end)} (kernel {@code page_mkclean} from
   * write-back): PROTECTION_PAGE per dirty or writable page; the entry becomes clean and read-only.
   * Takes the mmap lock for read.
   *
   * @param start page-aligned
   * @param end page-aligned
   * @return pages cleaned
   */
  public int writeback(long start, long end) {
    return op(
        () -> {
          checkBounds(start, end);
          RwSemaphore lock = readLock();
          try {
            return pageOps.writeback(start, end);
          } finally {
            lock.upRead();
          }
        });
  }

  /**
   * Merges the anonymous page at {@code dup} into the one at {@code keep} if their contents are
   * equal (KSM): CLEAR of {@code keep}'s page (write-protect), then CLEAR of {@code dup}'s page
   * (replaced by {@code keep}'s frame, read-only). Takes the mmap lock for read.
   *
   * @param keep page-aligned address of the page kept
   * @param dup page-aligned address of the page replaced
   * @return true if merged
   */
  public boolean ksmMerge(long keep, long dup) {
    return op(
        () -> {
          checkBounds(keep, keep + SimMm.PAGE_SIZE);
          checkBounds(dup, dup + SimMm.PAGE_SIZE);
          RwSemaphore lock = readLock();
          try {
            return pageOps.ksmMerge(keep, dup);
          } finally {
            lock.upRead();
          }
        });
  }

  /**
   * Collapses the 512 base pages of the 2 MiB block at {@code block} into a huge page (khugepaged):
   * {@code testYoung} per page, then CLEAR of the block. Takes the mmap lock for write.
   *
   * @param block 2 MiB-aligned address
   * @return true if collapsed; false if the block does not qualify
   * @throws ErrnoException {@link Errno#ENOMEM} if no huge page could be allocated
   */
  public boolean collapseHugePage(long block) throws ErrnoException {
    return op(
        () -> {
          checkBounds(block, block + SimMm.HPAGE_SIZE);
          RwSemaphore lock = writeLock();
          try {
            return pageOps.collapseHugePage(block);
          } finally {
            lock.upWrite();
          }
        });
  }

  /**
   * Migrates the movable anonymous pages of {@code [start, end)} to new frames as compaction and
   * NUMA balancing do (kernel {@code try_to_migrate}): CLEAR per page. Takes the mmap lock for
   * read.
   *
   * @param start page-aligned
   * @param end page-aligned
   * @return pages migrated
   * @throws ErrnoException {@link Errno#ENOMEM} if a destination could not be allocated
   */
  public int compact(long start, long end) throws ErrnoException {
    return op(
        () -> {
          checkBounds(start, end);
          RwSemaphore lock = readLock();
          try {
            return pageOps.compact(start, end);
          } finally {
            lock.upRead();
          }
        });
  }

  /**
   * One page-aging pass over {@code [start, end)}: for each present page, under the page-table
   * lock, the classic notifiers' {@code clearFlushYoung} ({@code flush}, as reclaim does) or {@code
   * clearYoung} (idle page tracking). Takes the mmap lock for read.
   *
   * @param start page-aligned
   * @param end page-aligned
   * @param flush whether to ask for a flush
   * @return pages some device had accessed
   */
  public int agePages(long start, long end, boolean flush) {
    return op(
        () -> {
          checkBounds(start, end);
          RwSemaphore lock = readLock();
          try {
            return pageOps.age(start, end, flush);
          } finally {
            lock.upRead();
          }
        });
  }

  /** The zap of a truncation ({@link SimMachine#truncate}) in this address space. */
  void truncateMapping(SimFile file, long newPages) {
    RwSemaphore lock = mm.mmapLock();
    lock.downRead();
    try {
      pageOps.truncateMapping(file, newPages);
    } finally {
      lock.upRead();
    }
  }

  /**
   * Reclaims what it can of {@code [start, end)} (like {@code MADV_PAGEOUT}): CLEAR per page (per 2
   * MiB block for a huge page); anonymous pages go to swap, clean file pages are dropped, dirty
   * ones written back first. Takes the mmap lock for read.
   *
   * @param start page-aligned
   * @param end page-aligned
   * @return pages unmapped
   */
  public int reclaim(long start, long end) {
    return op(
        () -> {
          checkBounds(start, end);
          RwSemaphore lock = readLock();
          try {
            return new Reclaimer(sim).reclaim(start, end);
          } finally {
            lock.upRead();
          }
        });
  }

  /**
   * Makes every page of {@code [start, end)} exclusive to a device ({@link
   * SimMm#makeDeviceExclusive} page by page, EXCLUSIVE with {@code owner} each), dropping the
   * returned references. Takes the mmap lock for read.
   *
   * @param start page-aligned
   * @param end page-aligned
   * @param owner the device
   * @return the pages' frames
   * @throws ErrnoException as {@link SimMm#makeDeviceExclusive}; pages before the failing one stay
   *     exclusive
   */
  public long[] makeDeviceExclusive(long start, long end, Object owner) throws ErrnoException {
    return op(
        () -> {
          checkBounds(start, end);
          long[] pfns = new long[(int) ((end - start) >>> SimMm.PAGE_SHIFT)];
          RwSemaphore lock = readLock();
          try {
            for (int i = 0; i < pfns.length; i++) {
              pfns[i] = sim.makeDeviceExclusive(start + ((long) i << SimMm.PAGE_SHIFT), owner);
              sim.memory.put(pfns[i]);
            }
          } finally {
            lock.upRead();
          }
          return pfns;
        });
  }

  /**
   * Populates a {@code MAP_PFNMAP} mapping with raw frames (kernel {@code remap_pfn_range}):
   * special entries, no references, no invalidation.
   *
   * @param va page-aligned start inside the mapping
   * @param pfn first frame
   * @param pages how many
   * @throws ErrnoException {@link Errno#EINVAL} outside a pfn mapping
   */
  public void remapPfnRange(long va, long pfn, int pages) throws ErrnoException {
    SimMm.checkPageAligned(va);
    RwSemaphore lock = readLock();
    try {
      vmaOps.remapPfnRange(va, pfn, pages);
    } finally {
      lock.upRead();
    }
  }

  /**
   * Inserts a normal page into a {@code MAP_MIXEDMAP} mapping (kernel {@code vm_insert_page}),
   * taking a reference; writable only in a shared writable mapping.
   *
   * @param va page-aligned
   * @param pfn an allocated frame
   * @throws ErrnoException {@link Errno#EINVAL} outside a mixed mapping, {@link Errno#EBUSY} if an
   *     entry exists
   */
  public void vmInsertPage(long va, long pfn) throws ErrnoException {
    SimMm.checkPageAligned(va);
    RwSemaphore lock = readLock();
    try {
      vmaOps.vmInsert(va, pfn, true);
    } finally {
      lock.upRead();
    }
  }

  /**
   * Inserts a raw pfn into a {@code MAP_MIXEDMAP} mapping (kernel {@code vmf_insert_pfn}): a
   * special entry without a page, which GUP refuses and {@code hmmRangeFault} reports as {@code
   * ERROR}.
   *
   * @param va page-aligned
   * @param pfn a frame
   * @throws ErrnoException as {@link #vmInsertPage}
   */
  public void vmInsertPfn(long va, long pfn) throws ErrnoException {
    SimMm.checkPageAligned(va);
    RwSemaphore lock = readLock();
    try {
      vmaOps.vmInsert(va, pfn, false);
    } finally {
      lock.upRead();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection

  /**
   * Returns a snapshot of the entry at {@code va}.
   *
   * @param va any address in the page
   * @return the entry
   */
  public PteView pte(long va) {
    return sim.lookup(va);
  }

  /**
   * Returns the {@code /proc/pid/pagemap} entry of the page at {@code va} as a privileged reader
   * sees it (frame numbers shown): {@link Pagemap#PM_PRESENT} with the frame for a present page,
   * {@link Pagemap#PM_SWAP} with type and offset for a swapped, device-private, device-exclusive or
   * migration entry, 0 for nothing; see {@link Pagemap}. Takes the mmap lock for read unless the
   * caller holds it.
   *
   * @param va any address in the page
   * @return the 64-bit entry
   */
  public long pagemap(long va) {
    RwSemaphore lock = mm.mmapLock();
    boolean held = lock.isHeldByCurrentThread();
    if (!held) {
      lock.downRead();
    }
    try {
      long page = va & -SimMm.PAGE_SIZE;
      Vma vma = sim.findVma(page);
      if (vma == null) {
        return 0;
      }
      SpinLock ptl = sim.pt.ptl();
      ptl.lock();
      try {
        return Pagemap.of(vma, sim.pt.get(page), sim.memory);
      } finally {
        ptl.unlock();
      }
    } finally {
      if (!held) {
        lock.upRead();
      }
    }
  }

  /**
   * Tells whether {@code va} is mapped by the huge zero page (a read fault in an empty, fully
   * covered 2 MiB block of a {@code MAP_HUGE} anonymous mapping maps it; a write splits it).
   *
   * @param va any address in the page
   * @return true for an entry of the huge zero page
   */
  public boolean isHugeZero(long va) {
    PteView v = pte(va);
    return v.type() == PteView.Type.ZERO && v.order() == PageTable.HPAGE_ORDER;
  }

  /**
   * Returns the VMAs in address order.
   *
   * @return a snapshot
   */
  public List<Vma> vmas() {
    return sim.vmas();
  }

  @Override
  public String toString() {
    return mm.name();
  }

  // ---------------------------------------------------------------------------------------------

  /** Runs an mm operation; what its callbacks threw is rethrown once it has completed. */
  private <T, E extends Exception> T op(CallbackFailures.Op<T, E> body) throws E {
    return machine.callbackFailures().collect(body);
  }

  private <E extends Exception> void opVoid(CallbackFailures.VoidOp<E> body) throws E {
    machine.callbackFailures().run(body);
  }

  private RwSemaphore writeLock() {
    requireAlive();
    RwSemaphore lock = mm.mmapLock();
    lock.downWrite();
    return lock;
  }

  private RwSemaphore readLock() {
    requireAlive();
    RwSemaphore lock = mm.mmapLock();
    lock.downRead();
    return lock;
  }

  private void requireAlive() {
    if (exited || sim.isTornDown()) {
      throw new IllegalStateException(this + " has exited");
    }
  }

  private static long checkRange(long addr, long length) throws ErrnoException {
    if ((addr & (SimMm.PAGE_SIZE - 1)) != 0 || length <= 0 || addr < 0) {
      throw new ErrnoException(
          Errno.EINVAL, "range 0x" + Long.toHexString(addr) + " + " + length + " not valid");
    }
    long len = (length + SimMm.PAGE_SIZE - 1) & -SimMm.PAGE_SIZE;
    if (addr + len > SimMm.TASK_SIZE || addr + len < addr) {
      throw new ErrnoException(Errno.EINVAL, "range past the end of user space");
    }
    return len;
  }

  private static void checkBounds(long start, long end) {
    SimMm.checkPageAligned(start);
    SimMm.checkPageAligned(end);
    if (start >= end || start < 0 || end > SimMm.TASK_SIZE) {
      throw new IllegalArgumentException(
          "range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ") not valid");
    }
  }

  @Override
  public AddressSpace addressSpace() {
    return mm();
  }

  /**
   * Returns the simulated process behind the driver SPI's view of it.
   *
   * @param process a process handed to a driver factory
   * @return the same process as a {@code SimProcess}
   * @throws IllegalArgumentException if it is not a simulated process
   */
  public static SimProcess of(UserProcess process) {
    if (process instanceof SimProcess p) {
      return p;
    }
    throw new IllegalArgumentException(process + " is not a SimProcess");
  }
}
