package io.mmulab.sim.mem;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * The simulated physical memory: page frames named by a {@code long pfn}, each with contents, a
 * reference count, a pin count, an owner tag, a state and a generation.
 *
 * <h2>Frames</h2>
 *
 * <ul>
 *   <li>{@link #alloc} hands out a zeroed frame with one reference, or throws {@link Errno#ENOMEM}
 *       when {@link #budget()} frames are allocated. Pfns start at 1; freed pfns are reused
 *       <em>last freed, first reused</em> (LIFO), the order that makes a stale translation hit a
 *       reallocated frame soonest. Each allocation of a pfn increases its generation, so a
 *       translation made for an earlier generation is recognisable.
 *   <li>{@link #get}/{@link #put} count references; {@link #pin}/{@link #unpin} count pins, and a
 *       pin also holds a reference (kernel {@code FOLL_PIN}), so the reference count is never below
 *       the pin count and a pinned frame is never freed. The {@code put} or {@code unpin} that
 *       drops the last reference frees the frame: its contents are overwritten with {@link
 *       #POISON}, its state becomes {@link FrameState#FREED} and the checker is told.
 *   <li>Frame {@link #ZERO_PFN} is the shared zero page: always allocated, never counted (like the
 *       kernel's, which {@code vm_normal_page} skips), never freed, and never writable: any write
 *       to it throws {@link IllegalStateException}.
 *   <li>Contents are allocated on first write, as 512 {@code long} words; unwritten frames read as
 *       zero. Longs are accessed at 8-byte-aligned offsets, bytes anywhere; byte {@code i} of a
 *       word is bits {@code 8*(i%8)} up (little-endian).
 * </ul>
 *
 * <h2>Who accesses</h2>
 *
 * <ul>
 *   <li>{@code cpu*} methods: a CPU load or store through an address space, reported to {@link
 *       CoherencyChecker#cpuAccess} at every access.
 *   <li>{@code device*} methods: a DMA access through a device translation, reported to {@link
 *       CoherencyChecker#deviceAccess}, which applies every coherency rule.
 *   <li>{@link #readLong}, {@link #writeLong}, {@link #copy} and the other plain methods: the
 *       kernel itself (copy-on-write, migration, file contents); reported to {@link
 *       CoherencyChecker#kernelAccess} only when they touch a freed frame.
 *   <li>{@code raw*} methods: inspection by tests and reports; never reported.
 * </ul>
 *
 * <p>An access to a freed frame by any of the first three is reported as a use-after-free (by the
 * checker, which learns of every free); the read returns the poison and the write is dropped.
 * Reference-count operations on a freed frame are bugs in the simulator and throw {@link
 * IllegalStateException}, as do counts that would go below zero; neither changes anything.
 *
 * <h2>Locking</h2>
 *
 * <p>Each frame's fields (state, generation, counts, owner, contents) are guarded by one of {@value
 * #STRIPES} spin locks of the {@link SyncRuntime}, chosen by {@code pfn % STRIPES}; two-frame
 * operations take both stripes in index order. The free list, the next new pfn and the allocated
 * count are guarded by a separate allocator spin lock, which may be taken while a stripe is held (a
 * put that frees) but never the other way round. Checker events about a frame are reported while
 * its stripe is held, so the checker sees a frame's free before its reallocation. Spin locks
 * because accesses come from invalidate callbacks of non-blockable ranges and from under driver
 * spin locks, where nothing may sleep; the locks are held only inside this class.
 */
public final class PhysicalMemory {
  /** Bits of an address inside a page. */
  public static final int PAGE_SHIFT = 12;

  /** Bytes in a page frame. */
  public static final int PAGE_SIZE = 1 << PAGE_SHIFT;

  /** The shared zero page. */
  public static final long ZERO_PFN = 0;

  /** What every word of a freed frame holds (the kernel's {@code POISON_FREE} byte repeated). */
  public static final long POISON = 0x6b6b6b6b6b6b6b6bL;

  /** What every byte of a freed frame holds. */
  public static final byte POISON_BYTE = 0x6b;

  private static final int WORDS = PAGE_SIZE / Long.BYTES;
  private static final int STRIPES = 64;
  private static final int CHUNK_SHIFT = 10;
  private static final int CHUNK_SIZE = 1 << CHUNK_SHIFT;
  private static final String ZERO_OWNER = "zero-page";

  private final CoherencyChecker checker;
  private final int budget;
  private final SpinLock[] stripes = new SpinLock[STRIPES];
  private final SpinLock allocLock;

  /** Frames by pfn, in chunks created on first use; a slot is set once, before its pfn is used. */
  private final AtomicReferenceArray<AtomicReferenceArray<Frame>> chunks;

  // Guarded by allocLock.
  private final ArrayDeque<Long> freePfns = new ArrayDeque<>();
  private long nextPfn = ZERO_PFN + 1;
  private int allocated;

  // Set once when a hypervisor is created on the machine; read at every unpin.
  private volatile @Nullable Runnable unpinListener;

  /**
   * Creates a memory of {@code budget} frames (besides the zero page) with its own checker.
   *
   * @param runtime where the frame locks come from
   * @param budget the most frames allocated at once
   */
  public PhysicalMemory(SyncRuntime runtime, int budget) {
    this(runtime, budget, new CoherencyChecker());
  }

  /**
   * Creates a memory of {@code budget} frames (besides the zero page) reporting to {@code checker}.
   *
   * @param runtime where the frame locks come from
   * @param budget the most frames allocated at once, at least 0
   * @param checker told of every allocation, free and access
   */
  public PhysicalMemory(SyncRuntime runtime, int budget, CoherencyChecker checker) {
    Objects.requireNonNull(runtime, "runtime is null");
    this.checker = Objects.requireNonNull(checker, "checker is null");
    if (budget < 0 || budget == Integer.MAX_VALUE) {
      throw new IllegalArgumentException("frame budget " + budget + " is out of range");
    }
    this.budget = budget;
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = runtime.newSpinLock("physmem.frame[" + i + "]");
    }
    allocLock = runtime.newSpinLock("physmem.alloc");
    chunks = new AtomicReferenceArray<>((budget >>> CHUNK_SHIFT) + 1);
    // No lock here: nobody else can see this object yet, and the deterministic runtime's locks
    // may only be taken by its own threads, while memory is usually built before they start.
    Frame zero = slot(ZERO_PFN);
    zero.state = FrameState.ALLOCATED;
    zero.generation = 1;
    zero.owner = ZERO_OWNER;
    checker.frameAllocated(ZERO_PFN, 1, ZERO_OWNER);
  }

  /**
   * Returns the checker this memory reports to.
   *
   * @return the checker
   */
  public CoherencyChecker checker() {
    return checker;
  }

  /**
   * Returns the most frames that can be allocated at once (the zero page not counted).
   *
   * @return the budget
   */
  public int budget() {
    return budget;
  }

  /**
   * Returns how many frames are allocated now (the zero page not counted).
   *
   * @return the count
   */
  public int allocatedFrames() {
    allocLock.lock();
    try {
      return allocated;
    } finally {
      allocLock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Allocation and counts

  /**
   * Allocates a zeroed frame holding one reference (kernel {@code alloc_page}).
   *
   * @param owner who allocates, for messages (for example {@code "mm#1 anon 0x7000"})
   * @return the pfn
   * @throws ErrnoException {@link Errno#ENOMEM} if the budget is exhausted; nothing changes
   */
  public long alloc(String owner) throws ErrnoException {
    Objects.requireNonNull(owner, "owner is null");
    long pfn;
    Frame f;
    allocLock.lock();
    try {
      if (allocated >= budget) {
        throw new ErrnoException(
            Errno.ENOMEM,
            "frame budget of "
                + budget
                + " frames exhausted ("
                + allocated
                + " allocated) allocating for "
                + owner);
      }
      Long reused = freePfns.pollFirst();
      pfn = reused != null ? reused : nextPfn++;
      allocated++;
      f = slot(pfn);
    } finally {
      allocLock.unlock();
    }
    // Until the stripe is taken the frame is still FREED: an access in between is reported.
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      f.state = FrameState.ALLOCATED;
      f.generation++;
      f.refcount = 1;
      f.pincount = 0;
      f.owner = owner;
      f.words = null;
      checker.frameAllocated(pfn, f.generation, owner);
    } finally {
      l.unlock();
    }
    return pfn;
  }

  /**
   * Allocates {@code 2^order} physically contiguous zeroed frames whose first pfn is a multiple of
   * {@code 2^order}, each holding one reference (kernel {@code alloc_pages} of a huge page). The
   * frames are counted, referenced and freed one by one, like the base pages of a split huge page.
   * They always come from pfns never handed out before: pfns skipped to reach the alignment join
   * the free list.
   *
   * @param owner who allocates, for messages
   * @param order log2 of the number of frames, 0 to 20
   * @return the first pfn
   * @throws ErrnoException {@link Errno#ENOMEM} if the budget cannot hold the run; nothing changes
   */
  public long allocContiguous(String owner, int order) throws ErrnoException {
    Objects.requireNonNull(owner, "owner is null");
    if (order < 0 || order > 20) {
      throw new IllegalArgumentException("order " + order + " is out of range 0..20");
    }
    long n = 1L << order;
    long first;
    allocLock.lock();
    try {
      first = (nextPfn + n - 1) & -n;
      if (allocated + n > budget || first + n - 1 > budget) {
        throw new ErrnoException(
            Errno.ENOMEM,
            "no "
                + n
                + " contiguous frames left in a budget of "
                + budget
                + " ("
                + allocated
                + " allocated) allocating for "
                + owner);
      }
      for (long pfn = nextPfn; pfn < first; pfn++) {
        slot(pfn);
        freePfns.addLast(pfn);
      }
      for (long pfn = first; pfn < first + n; pfn++) {
        slot(pfn);
      }
      nextPfn = first + n;
      allocated += (int) n;
    } finally {
      allocLock.unlock();
    }
    for (long pfn = first; pfn < first + n; pfn++) {
      Frame f = frame(pfn);
      SpinLock l = stripe(pfn);
      l.lock();
      try {
        f.state = FrameState.ALLOCATED;
        f.generation++;
        f.refcount = 1;
        f.pincount = 0;
        f.owner = owner;
        f.words = null;
        checker.frameAllocated(pfn, f.generation, owner);
      } finally {
        l.unlock();
      }
    }
    return first;
  }

  /**
   * Takes a reference (kernel {@code get_page}). A no-op on the zero page.
   *
   * @param pfn an allocated frame
   * @throws IllegalStateException if the frame is freed
   */
  public void get(long pfn) {
    Frame f = frame(pfn);
    if (pfn == ZERO_PFN) {
      return;
    }
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      requireAllocated(f, "get");
      f.refcount++;
    } finally {
      l.unlock();
    }
  }

  /**
   * Takes a reference unless the frame is freed (kernel {@code get_page_unless_zero}); the caller
   * must still check that the frame is the one it looked up.
   *
   * @param pfn a frame
   * @return true if a reference was taken (always for the zero page)
   */
  public boolean tryGet(long pfn) {
    Frame f = frame(pfn);
    if (pfn == ZERO_PFN) {
      return true;
    }
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      if (f.state == FrameState.FREED) {
        return false;
      }
      f.refcount++;
      return true;
    } finally {
      l.unlock();
    }
  }

  /**
   * Drops a reference (kernel {@code put_page}); dropping the last one frees the frame. A no-op on
   * the zero page.
   *
   * @param pfn an allocated frame
   * @throws IllegalStateException if the frame is freed, or the reference is one a pin holds (the
   *     reference count would go below the pin count); nothing changes
   */
  public void put(long pfn) {
    Frame f = frame(pfn);
    if (pfn == ZERO_PFN) {
      return;
    }
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      if (f.state == FrameState.FREED || f.refcount - 1 < f.pincount) {
        throw new IllegalStateException(
            "put of pfn "
                + pfn
                + " would drop refcount "
                + f.refcount
                + " below "
                + (f.pincount == 0 ? "zero" : "its pincount " + f.pincount)
                + " ("
                + describe(f)
                + ")");
      }
      f.refcount--;
      if (f.refcount == 0) {
        free(f);
      }
    } finally {
      l.unlock();
    }
  }

  /**
   * Pins the frame (kernel {@code FOLL_PIN}): one pin and one reference. A no-op on the zero page.
   *
   * @param pfn an allocated frame
   * @throws IllegalStateException if the frame is freed
   */
  public void pin(long pfn) {
    Frame f = frame(pfn);
    if (pfn == ZERO_PFN) {
      return;
    }
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      requireAllocated(f, "pin");
      f.pincount++;
      f.refcount++;
    } finally {
      l.unlock();
    }
  }

  /**
   * Drops a pin and its reference (kernel {@code unpin_user_page}); dropping the last reference
   * frees the frame. A no-op on the zero page.
   *
   * @param pfn a pinned frame
   * @throws IllegalStateException if the frame is freed or not pinned; nothing changes
   */
  public void unpin(long pfn) {
    Frame f = frame(pfn);
    if (pfn == ZERO_PFN) {
      return;
    }
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      if (f.state == FrameState.FREED || f.pincount == 0) {
        throw new IllegalStateException(
            "unpin of pfn "
                + pfn
                + " would drop pincount "
                + f.pincount
                + " below zero ("
                + describe(f)
                + ")");
      }
      f.pincount--;
      f.refcount--;
      if (f.refcount == 0) {
        free(f);
      }
    } finally {
      l.unlock();
    }
    Runnable listener = unpinListener;
    if (listener != null) {
      listener.run();
    }
  }

  /**
   * Has {@code listener} run after every {@link #unpin}, outside the frame's lock, in the thread
   * that unpinned: a hypervisor waiting until granted pages are no longer in use wakes its waiters
   * there. Without a listener (the default) an unpin does nothing more.
   *
   * @param listener what to run, or null for nothing
   */
  public void onUnpin(Runnable listener) {
    unpinListener = listener;
  }

  /**
   * Returns a snapshot of the frame's bookkeeping.
   *
   * @param pfn a frame that was allocated at least once
   * @return state, generation, counts and owner
   */
  public FrameInfo info(long pfn) {
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      boolean zero = pfn == ZERO_PFN;
      return new FrameInfo(
          pfn, f.state, f.generation, zero ? 1 : f.refcount, zero ? 0 : f.pincount, f.owner);
    } finally {
      l.unlock();
    }
  }

  /**
   * Returns the frame's reference count (pins included; 1 for the zero page).
   *
   * @param pfn a frame
   * @return the count, 0 if freed
   */
  public int refcount(long pfn) {
    return info(pfn).refcount();
  }

  /**
   * Returns the frame's pin count.
   *
   * @param pfn a frame
   * @return the count
   */
  public int pincount(long pfn) {
    return info(pfn).pincount();
  }

  /**
   * Returns how many times the pfn was allocated (1 for the zero page).
   *
   * @param pfn a frame
   * @return the generation
   */
  public long generation(long pfn) {
    return info(pfn).generation();
  }

  /**
   * Returns the frame's state.
   *
   * @param pfn a frame
   * @return allocated or freed
   */
  public FrameState state(long pfn) {
    return info(pfn).state();
  }

  // ---------------------------------------------------------------------------------------------
  // Kernel accesses

  /**
   * Reads a word as the kernel.
   *
   * @param pfn the frame
   * @param offset byte offset, a multiple of 8 below {@link #PAGE_SIZE}
   * @return the word ({@link #POISON} if the frame is freed, which is reported)
   */
  public long readLong(long pfn, int offset) {
    checkLongOffset(offset);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      if (f.state == FrameState.FREED) {
        checker.kernelAccess("readLong", pfn, false);
      }
      return word(f, offset >>> 3);
    } finally {
      l.unlock();
    }
  }

  /**
   * Writes a word as the kernel.
   *
   * @param pfn the frame
   * @param offset byte offset, a multiple of 8 below {@link #PAGE_SIZE}
   * @param value the word (dropped if the frame is freed, which is reported)
   * @throws IllegalStateException on the zero page
   */
  public void writeLong(long pfn, int offset, long value) {
    checkLongOffset(offset);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      requireNotZero(pfn, "writeLong");
      if (f.state == FrameState.FREED) {
        checker.kernelAccess("writeLong", pfn, true);
        return;
      }
      setWord(f, offset >>> 3, value);
    } finally {
      l.unlock();
    }
  }

  /**
   * Reads a byte as the kernel.
   *
   * @param pfn the frame
   * @param offset byte offset below {@link #PAGE_SIZE}
   * @return the byte ({@link #POISON_BYTE} if the frame is freed, which is reported)
   */
  public byte readByte(long pfn, int offset) {
    checkByteOffset(offset);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      if (f.state == FrameState.FREED) {
        checker.kernelAccess("readByte", pfn, false);
      }
      return byteOf(f, offset);
    } finally {
      l.unlock();
    }
  }

  /**
   * Writes a byte as the kernel.
   *
   * @param pfn the frame
   * @param offset byte offset below {@link #PAGE_SIZE}
   * @param value the byte (dropped if the frame is freed, which is reported)
   * @throws IllegalStateException on the zero page
   */
  public void writeByte(long pfn, int offset, byte value) {
    checkByteOffset(offset);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      requireNotZero(pfn, "writeByte");
      if (f.state == FrameState.FREED) {
        checker.kernelAccess("writeByte", pfn, true);
        return;
      }
      setByte(f, offset, value);
    } finally {
      l.unlock();
    }
  }

  /**
   * Reads bytes as the kernel.
   *
   * @param pfn the frame
   * @param offset first byte in the frame
   * @param dst where to put them
   * @param dstOffset first index in {@code dst}
   * @param length how many, not past the end of the frame
   */
  public void readBytes(long pfn, int offset, byte[] dst, int dstOffset, int length) {
    checkSpan(offset, length);
    Objects.checkFromIndexSize(dstOffset, length, dst.length);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      if (f.state == FrameState.FREED) {
        checker.kernelAccess("readBytes", pfn, false);
      }
      for (int i = 0; i < length; i++) {
        dst[dstOffset + i] = byteOf(f, offset + i);
      }
    } finally {
      l.unlock();
    }
  }

  /**
   * Writes bytes as the kernel.
   *
   * @param pfn the frame
   * @param offset first byte in the frame
   * @param src the bytes
   * @param srcOffset first index in {@code src}
   * @param length how many, not past the end of the frame
   * @throws IllegalStateException on the zero page
   */
  public void writeBytes(long pfn, int offset, byte[] src, int srcOffset, int length) {
    checkSpan(offset, length);
    Objects.checkFromIndexSize(srcOffset, length, src.length);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      requireNotZero(pfn, "writeBytes");
      if (f.state == FrameState.FREED) {
        checker.kernelAccess("writeBytes", pfn, true);
        return;
      }
      for (int i = 0; i < length; i++) {
        setByte(f, offset + i, src[srcOffset + i]);
      }
    } finally {
      l.unlock();
    }
  }

  /**
   * Zeroes an allocated frame (kernel {@code clear_page}), as the kernel does before it maps a
   * reused page. A freed frame is reported and left alone.
   *
   * @param pfn the frame
   * @throws IllegalStateException if it is the zero page
   */
  public void clear(long pfn) {
    Frame f = frame(pfn);
    requireNotZero(pfn, "clear of");
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      if (f.state == FrameState.FREED) {
        checker.kernelAccess("clear", pfn, true);
        return;
      }
      f.words = null;
    } finally {
      l.unlock();
    }
  }

  /**
   * Copies a whole frame as the kernel (copy-on-write break, migration). A freed source copies
   * poison and a freed destination drops the copy; both are reported.
   *
   * @param fromPfn the source (may be the zero page)
   * @param toPfn the destination
   * @throws IllegalArgumentException if both are the same frame
   * @throws IllegalStateException if the destination is the zero page
   */
  public void copy(long fromPfn, long toPfn) {
    if (fromPfn == toPfn) {
      throw new IllegalArgumentException("copy of pfn " + fromPfn + " onto itself");
    }
    Frame from = frame(fromPfn);
    Frame to = frame(toPfn);
    requireNotZero(toPfn, "copy to");
    int a = stripeIndex(fromPfn);
    int b = stripeIndex(toPfn);
    SpinLock first = stripes[Math.min(a, b)];
    SpinLock second = a == b ? null : stripes[Math.max(a, b)];
    first.lock();
    try {
      if (second != null) {
        second.lock();
      }
      try {
        if (from.state == FrameState.FREED) {
          checker.kernelAccess("copy from", fromPfn, false);
        }
        if (to.state == FrameState.FREED) {
          checker.kernelAccess("copy to", toPfn, true);
          return;
        }
        if (from.words != null) {
          to.words = from.words.clone();
        } else if (from.state == FrameState.FREED) {
          to.words = new long[WORDS];
          Arrays.fill(to.words, POISON);
        } else {
          to.words = null;
        }
      } finally {
        if (second != null) {
          second.unlock();
        }
      }
    } finally {
      first.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // CPU accesses

  /**
   * A CPU load of a word at {@code va}, which the address space translated to {@code pfn}.
   *
   * @param mm the address space, for the checker
   * @param va the address; its page offset must be a multiple of 8
   * @param pfn the frame
   * @return the word ({@link #POISON} if the frame is freed)
   */
  public long cpuReadLong(String mm, long va, long pfn) {
    int offset = pageOffset(va);
    checkLongOffset(offset);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      checker.cpuAccess(mm, va, pfn, false);
      return word(f, offset >>> 3);
    } finally {
      l.unlock();
    }
  }

  /**
   * A CPU store of a word at {@code va}, which the address space translated to {@code pfn}.
   *
   * @param mm the address space, for the checker
   * @param va the address; its page offset must be a multiple of 8
   * @param pfn the frame
   * @param value the word (dropped if the frame is freed)
   * @throws IllegalStateException on the zero page
   */
  public void cpuWriteLong(String mm, long va, long pfn, long value) {
    int offset = pageOffset(va);
    checkLongOffset(offset);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      checker.cpuAccess(mm, va, pfn, true);
      requireNotZero(pfn, "CPU store");
      if (f.state != FrameState.FREED) {
        setWord(f, offset >>> 3, value);
      }
    } finally {
      l.unlock();
    }
  }

  /**
   * A CPU load of a byte.
   *
   * @param mm the address space, for the checker
   * @param va the address
   * @param pfn the frame
   * @return the byte ({@link #POISON_BYTE} if the frame is freed)
   */
  public byte cpuReadByte(String mm, long va, long pfn) {
    int offset = pageOffset(va);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      checker.cpuAccess(mm, va, pfn, false);
      return byteOf(f, offset);
    } finally {
      l.unlock();
    }
  }

  /**
   * A CPU store of a byte.
   *
   * @param mm the address space, for the checker
   * @param va the address
   * @param pfn the frame
   * @param value the byte (dropped if the frame is freed)
   * @throws IllegalStateException on the zero page
   */
  public void cpuWriteByte(String mm, long va, long pfn, byte value) {
    int offset = pageOffset(va);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      checker.cpuAccess(mm, va, pfn, true);
      requireNotZero(pfn, "CPU store");
      if (f.state != FrameState.FREED) {
        setByte(f, offset, value);
      }
    } finally {
      l.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Device accesses

  /**
   * A DMA read of a word by a device through its translation {@code va -> pfn}.
   *
   * @param deviceId the device
   * @param operation a token from {@link CoherencyChecker#beginOperation}, or {@link
   *     CoherencyChecker#NO_OP}
   * @param mm the address space the translation belongs to
   * @param va the address; its page offset must be a multiple of 8
   * @param pfn the frame the translation reached
   * @return the word ({@link #POISON} if the frame is freed)
   */
  public long deviceReadLong(String deviceId, long operation, String mm, long va, long pfn) {
    int offset = pageOffset(va);
    checkLongOffset(offset);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      checker.deviceAccess(deviceId, operation, mm, va, pfn, false);
      return word(f, offset >>> 3);
    } finally {
      l.unlock();
    }
  }

  /**
   * A DMA write of a word by a device through its translation {@code va -> pfn}.
   *
   * @param deviceId the device
   * @param operation a token from {@link CoherencyChecker#beginOperation}, or {@link
   *     CoherencyChecker#NO_OP}
   * @param mm the address space the translation belongs to
   * @param va the address; its page offset must be a multiple of 8
   * @param pfn the frame the translation reached
   * @param value the word (dropped if the frame is freed)
   * @throws IllegalStateException on the zero page (after reporting the access)
   */
  public void deviceWriteLong(
      String deviceId, long operation, String mm, long va, long pfn, long value) {
    int offset = pageOffset(va);
    checkLongOffset(offset);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      checker.deviceAccess(deviceId, operation, mm, va, pfn, true);
      requireNotZero(pfn, "DMA write by " + deviceId);
      if (f.state != FrameState.FREED) {
        setWord(f, offset >>> 3, value);
      }
    } finally {
      l.unlock();
    }
  }

  /**
   * A DMA read of a byte.
   *
   * @param deviceId the device
   * @param operation an operation token or {@link CoherencyChecker#NO_OP}
   * @param mm the address space the translation belongs to
   * @param va the address
   * @param pfn the frame the translation reached
   * @return the byte ({@link #POISON_BYTE} if the frame is freed)
   */
  public byte deviceReadByte(String deviceId, long operation, String mm, long va, long pfn) {
    int offset = pageOffset(va);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      checker.deviceAccess(deviceId, operation, mm, va, pfn, false);
      return byteOf(f, offset);
    } finally {
      l.unlock();
    }
  }

  /**
   * A DMA write of a byte.
   *
   * @param deviceId the device
   * @param operation an operation token or {@link CoherencyChecker#NO_OP}
   * @param mm the address space the translation belongs to
   * @param va the address
   * @param pfn the frame the translation reached
   * @param value the byte (dropped if the frame is freed)
   * @throws IllegalStateException on the zero page (after reporting the access)
   */
  public void deviceWriteByte(
      String deviceId, long operation, String mm, long va, long pfn, byte value) {
    int offset = pageOffset(va);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      checker.deviceAccess(deviceId, operation, mm, va, pfn, true);
      requireNotZero(pfn, "DMA write by " + deviceId);
      if (f.state != FrameState.FREED) {
        setByte(f, offset, value);
      }
    } finally {
      l.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection

  /**
   * Reads a word for inspection; never reported.
   *
   * @param pfn the frame
   * @param offset byte offset, a multiple of 8 below {@link #PAGE_SIZE}
   * @return the word ({@link #POISON} if freed)
   */
  public long rawReadLong(long pfn, int offset) {
    checkLongOffset(offset);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      return word(f, offset >>> 3);
    } finally {
      l.unlock();
    }
  }

  /**
   * Reads a byte for inspection; never reported.
   *
   * @param pfn the frame
   * @param offset byte offset below {@link #PAGE_SIZE}
   * @return the byte ({@link #POISON_BYTE} if freed)
   */
  public byte rawReadByte(long pfn, int offset) {
    checkByteOffset(offset);
    Frame f = frame(pfn);
    SpinLock l = stripe(pfn);
    l.lock();
    try {
      return byteOf(f, offset);
    } finally {
      l.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  /** Frees {@code f}; the caller holds its stripe and has checked that no reference remains. */
  private void free(Frame f) {
    f.state = FrameState.FREED;
    f.pincount = 0;
    if (f.words != null) {
      Arrays.fill(f.words, POISON);
    }
    checker.frameFreed(f.pfn, f.generation);
    allocLock.lock();
    try {
      freePfns.addFirst(f.pfn);
      allocated--;
    } finally {
      allocLock.unlock();
    }
  }

  private static long word(Frame f, int index) {
    if (f.words != null) {
      return f.words[index];
    }
    return f.state == FrameState.FREED ? POISON : 0;
  }

  private static void setWord(Frame f, int index, long value) {
    if (f.words == null) {
      f.words = new long[WORDS];
    }
    f.words[index] = value;
  }

  private static byte byteOf(Frame f, int offset) {
    return (byte) (word(f, offset >>> 3) >>> ((offset & 7) << 3));
  }

  private static void setByte(Frame f, int offset, byte value) {
    int shift = (offset & 7) << 3;
    long w = word(f, offset >>> 3);
    setWord(f, offset >>> 3, (w & ~(0xffL << shift)) | ((value & 0xffL) << shift));
  }

  private static void requireAllocated(Frame f, String what) {
    if (f.state == FrameState.FREED) {
      throw new IllegalStateException(what + " of freed pfn " + f.pfn + " (" + describe(f) + ")");
    }
  }

  private static void requireNotZero(long pfn, String what) {
    if (pfn == ZERO_PFN) {
      throw new IllegalStateException(what + " to the zero page (pfn " + ZERO_PFN + ")");
    }
  }

  private static String describe(Frame f) {
    return f.state
        + ", gen "
        + f.generation
        + ", refcount "
        + f.refcount
        + ", pincount "
        + f.pincount
        + ", owner "
        + f.owner;
  }

  private static int pageOffset(long va) {
    return (int) (va & (PAGE_SIZE - 1));
  }

  private static void checkLongOffset(int offset) {
    if (offset < 0 || offset > PAGE_SIZE - Long.BYTES || (offset & 7) != 0) {
      throw new IllegalArgumentException(
          "long offset " + offset + " is not 8-byte aligned inside a page");
    }
  }

  private static void checkByteOffset(int offset) {
    if (offset < 0 || offset >= PAGE_SIZE) {
      throw new IllegalArgumentException("byte offset " + offset + " is outside a page");
    }
  }

  private static void checkSpan(int offset, int length) {
    if (offset < 0 || length < 0 || offset > PAGE_SIZE - length) {
      throw new IllegalArgumentException(
          "span of " + length + " bytes at offset " + offset + " is outside a page");
    }
  }

  private int stripeIndex(long pfn) {
    return (int) (pfn % STRIPES);
  }

  private SpinLock stripe(long pfn) {
    return stripes[stripeIndex(pfn)];
  }

  /** The frame of a pfn handed out at least once. */
  private Frame frame(long pfn) {
    if (pfn < 0 || pfn > budget) {
      throw new IllegalArgumentException(
          "pfn " + pfn + " is outside this memory (pfns 0.." + budget + ")");
    }
    AtomicReferenceArray<Frame> chunk = chunks.get((int) (pfn >>> CHUNK_SHIFT));
    Frame f = chunk == null ? null : chunk.get((int) (pfn & (CHUNK_SIZE - 1)));
    if (f == null) {
      throw new IllegalArgumentException("pfn " + pfn + " was never allocated");
    }
    return f;
  }

  /** The frame of a pfn, created if needed; called by the constructor or with allocLock held. */
  private Frame slot(long pfn) {
    int c = (int) (pfn >>> CHUNK_SHIFT);
    AtomicReferenceArray<Frame> chunk = chunks.get(c);
    if (chunk == null) {
      chunk = new AtomicReferenceArray<>(CHUNK_SIZE);
      chunks.set(c, chunk);
    }
    int i = (int) (pfn & (CHUNK_SIZE - 1));
    Frame f = chunk.get(i);
    if (f == null) {
      f = new Frame(pfn);
      chunk.set(i, f);
    }
    return f;
  }

  /** One frame; every field but pfn is guarded by its stripe. */
  private static final class Frame {
    final long pfn;
    FrameState state = FrameState.FREED;
    long generation;
    int refcount;
    int pincount;
    @Nullable String owner;

    /** Null: all zero if allocated, all poison if freed. */
    long @Nullable [] words;

    Frame(long pfn) {
      this.pfn = pfn;
    }
  }
}
