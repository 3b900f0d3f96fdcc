package io.mmulab.testkit.regcache;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.sync.Mutex;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.dev.DeviceMmu;
import io.mmulab.sim.dev.IommuDomain;
import io.mmulab.sim.driver.DeviceIds;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * One open of the registration cache: a device behind its own IOMMU domain whose translations are
 * cache entries, one page each (see the package comment for the design).
 *
 * <p>An <em>operation</em>, to the checker, is what one verb does on one page: it takes a user on a
 * valid entry under the cache lock and gets its token then ({@link DeviceMmu#beginOperation}), so
 * the checker judges all its accesses as of that moment; an invalidation that arrives while it runs
 * may not take the pinned frame away before it is done.
 *
 * <p>Locking: {@code cache} guards the entry map and every entry's fields and is the update lock of
 * every entry notifier. The callback takes it (try-locks it for a non-blockable range), {@code
 * setSeq}s, takes the entry out of the cache and releases it if no operation uses it; the last
 * operation releases it otherwise. Nothing sleeps under it but the sim's own locks. A notifier is
 * removed with the lock dropped: removal waits for a running callback, which takes the lock.
 */
final class RegCacheDevice extends SimDriverAdapter {
  /** A bug planted on purpose by the tests, one per rule the checker holds a cache to. */
  enum Flaw {
    /** A correct cache. */
    NONE,
    /** Teardown forgets the entries' notifiers: callbacks reach a torn-down device (LIFETIME). */
    KEEPS_NOTIFIERS,
    /** The callback unpins at once, under operations still using the frame (USE_AFTER_FREE). */
    UNPINS_UNDER_USERS,
    /** Registration never maps the pinned frame into the device's IOMMU domain (ISOLATION). */
    NO_DOMAIN_MAP,
    /** The callback marks the entry invalid but lookups do not look (STALE_USE: a new use). */
    USES_INVALIDATED_ENTRY
  }

  private static final long PAGE = AddressSpace.PAGE_SIZE;
  private static final int MAX_ROUNDS = 16;

  private final DriverVariant variant;
  private final Flaw flaw;
  private final DriverStats stats = new DriverStats();
  private final String id;
  private final AddressSpace mm;
  private final PhysicalMemory memory;
  private final CoherencyChecker checker;
  private final IommuDomain domain;
  private final DeviceMmu mmu;
  private final Mutex cache;
  private final Map<Long, RegCacheEntry> entries = new HashMap<>(); // guarded by cache
  private final Map<MmuIntervalNotifier, String> notifiers = new HashMap<>(); // guarded by cache

  /** Notifiers of released entries, removed by the next caller outside the lock. */
  private final List<MmuIntervalNotifier> retired = new ArrayList<>(); // guarded by cache

  private int serial; // guarded by cache
  private boolean tornDown; // guarded by cache

  /** Written under the cache lock, read by tests after the run. */
  private final AtomicInteger outlivedInvalidations = new AtomicInteger();

  RegCacheDevice(DriverVariant variant, Flaw flaw, SimProcess process, SimMachine sim) {
    super(RegCacheDriver.NAME);
    this.variant = variant;
    this.flaw = flaw;
    this.id = DeviceIds.next(sim, RegCacheDriver.NAME); // a replay names it the same
    this.mm = process.addressSpace();
    this.memory = sim.memory();
    this.checker = sim.checker();
    this.domain = new IommuDomain(sim.runtime(), checker, id + ".domain");
    this.mmu =
        DeviceMmu.builder(sim.runtime(), memory, id, mm.name())
            .model(CoherencyModel.REGISTRATION_CACHE)
            .iommu(domain)
            .build();
    this.cache = sim.runtime().newMutex(id + ".cache");
  }

  @Override
  protected DriverStats stats() {
    return stats;
  }

  @Override
  public DriverVariant variant() {
    return variant;
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    long[] out = new long[words];
    for (int i = 0; i < words; ) {
      long addr = va + 8L * i;
      int n = Math.min(words - i, (int) ((PAGE - (addr & (PAGE - 1))) / 8));
      long[] part = new long[n];
      operate(addr, false, part);
      System.arraycopy(part, 0, out, i, n);
      i += n;
    }
    return out;
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    checkWrite(va, data);
    for (int i = 0; i < data.length; ) {
      long addr = va + 8L * i;
      int n = Math.min(data.length - i, (int) ((PAGE - (addr & (PAGE - 1))) / 8));
      long[] part = new long[n];
      System.arraycopy(data, i, part, 0, n);
      operate(addr, true, part);
      i += n;
    }
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    checkPrefetch(va, length);
    for (long p = va; p < va + length; p += PAGE) {
      lookupOrRegister(p, write);
    }
  }

  /** The cache runs its DMA at once: the job is done when this returns. */
  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    try {
      if (data == null) {
        read(va, words);
      } else {
        write(va, data);
      }
      return completed(null);
    } catch (ErrnoException e) {
      return completed(e);
    }
  }

  @Override
  public void teardown() {
    List<MmuIntervalNotifier> toRemove;
    List<RegCacheEntry> toRelease;
    cache.lock();
    try {
      if (tornDown) {
        return;
      }
      tornDown = true;
      toRemove = new ArrayList<>(notifiers.keySet());
      notifiers.clear();
      retired.clear();
      toRelease = new ArrayList<>(entries.values());
      entries.clear();
    } finally {
      cache.unlock();
    }
    if (flaw != Flaw.KEEPS_NOTIFIERS) {
      for (MmuIntervalNotifier n : toRemove) {
        n.remove(); // waits for a running callback
      }
      checker.subscriptionRemoved(id);
    }
    cache.lock();
    try {
      toRelease.forEach(this::release);
    } finally {
      cache.unlock();
    }
    mmu.tearDown();
  }

  /** How many invalidations found their entry in use by an operation (tests look at it). */
  int outlivedInvalidations() {
    return outlivedInvalidations.get();
  }

  // ---------------------------------------------------------------------------------------------
  // Operations

  /** One operation on one page: the words of {@code buf} from {@code va}, all in that page. */
  private void operate(long va, boolean write, long[] buf) throws ErrnoException {
    long page = va & -PAGE;
    for (int round = 1; round <= MAX_ROUNDS; round++) {
      RegCacheEntry e = lookupOrRegister(page, write);
      long op;
      cache.lock();
      try {
        if (!usable(e, write)) {
          continue; // invalidated since it was looked up: look again
        }
        e.users++;
        op = mmu.beginOperation();
      } finally {
        cache.unlock();
      }
      try {
        if (write) {
          mmu.writeLongs(op, va, buf);
        } else {
          mmu.readLongs(op, va, buf);
        }
        return;
      } finally {
        done(e);
      }
    }
    throw new ErrnoException(Errno.EBUSY, id + ": no stable entry for 0x" + Long.toHexString(va));
  }

  private boolean usable(RegCacheEntry e, boolean write) {
    return !e.released
        && (!e.invalid || flaw == Flaw.USES_INVALIDATED_ENTRY)
        && (!write || e.writable)
        && entries.get(e.va) == e;
  }

  private void done(RegCacheEntry e) {
    cache.lock();
    try {
      e.users--;
      if (e.invalid && e.users == 0 && flaw != Flaw.USES_INVALIDATED_ENTRY) {
        release(e);
      }
    } finally {
      cache.unlock();
    }
  }

  private RegCacheEntry lookupOrRegister(long page, boolean write) throws ErrnoException {
    removeRetired();
    while (true) {
      cache.lock();
      try {
        if (tornDown) {
          throw new ErrnoException(Errno.EINVAL, id + " is torn down");
        }
        RegCacheEntry e = entries.get(page);
        if (e != null && usable(e, write)) {
          return e;
        }
      } finally {
        cache.unlock();
      }
      if (!mm.mmgetNotZero()) { // never register into an address space that is going away
        throw new ErrnoException(Errno.EFAULT, id + ": the process is gone");
      }
      RegCacheEntry e;
      try {
        e = variant == DriverVariant.LEGACY ? registerPinFirst(page, write) : register(page, write);
      } finally {
        mm.mmput();
      }
      if (e != null) {
        return e;
      }
    }
  }

  /**
   * CONSOLIDATED registration: the entry's notifier first, then {@code readBegin}, pin, and under
   * the cache lock {@code readRetry}; a collision unpins and returns null (look again).
   */
  private @Nullable RegCacheEntry register(long page, boolean write) throws ErrnoException {
    MmuIntervalNotifier n = insertNotifier(page);
    long seq = n.readBegin();
    long pfn;
    try {
      pfn = pin(page, write);
    } catch (ErrnoException e) {
      dropNotifier(n);
      throw e;
    }
    cache.lock();
    try {
      boolean collided = n.readRetry(seq);
      if (collided) {
        stats.retry();
      }
      if (!tornDown && !collided) {
        RegCacheEntry other = entries.get(page);
        if (other == null || !usable(other, write)) {
          return publish(page, pfn, write, n);
        }
      }
    } finally {
      cache.unlock();
    }
    unpin(pfn); // collided, or another thread cached the page meanwhile: look again
    dropNotifier(n);
    return null;
  }

  /**
   * LEGACY registration, the pin-before-insert race: pin, then insert the notifier and publish the
   * entry with no sequence check between the two.
   */
  private @Nullable RegCacheEntry registerPinFirst(long page, boolean write) throws ErrnoException {
    // LEGACY RACE: an invalidation that runs between this pin and the notifier's insertion below
    // never reaches the entry, which then caches a frame the CPU no longer maps there.
    long pfn = pin(page, write);
    MmuIntervalNotifier n = insertNotifier(page);
    cache.lock();
    try {
      if (!tornDown) {
        RegCacheEntry other = entries.get(page);
        if (other == null || !usable(other, write)) {
          return publish(page, pfn, write, n);
        }
      }
    } finally {
      cache.unlock();
    }
    unpin(pfn); // another thread cached the page meanwhile: use that entry
    dropNotifier(n);
    return null;
  }

  /** Pins {@code page} long-term, writable if {@code write}. */
  private long pin(long page, boolean write) throws ErrnoException {
    long[] pfns = new long[1];
    int flags = Gup.FOLL_PIN | Gup.FOLL_LONGTERM | (write ? Gup.FOLL_WRITE : 0);
    mm.mmapLock().downRead();
    try {
      mm.getUserPages(page, 1, flags, pfns);
      stats.pinned(1);
      return pfns[0];
    } finally {
      mm.mmapLock().upRead();
    }
  }

  /**
   * Publishes a new entry: IOMMU mapping, device translation, cache map; an older entry of the page
   * that cannot serve (read-only, for a write) leaves the cache first. Cache lock held.
   */
  private RegCacheEntry publish(long page, long pfn, boolean write, MmuIntervalNotifier n) {
    RegCacheEntry old = entries.remove(page);
    if (old != null) {
      old.invalid = true;
      if (old.users == 0) {
        release(old);
      }
    }
    RegCacheEntry e = new RegCacheEntry(page, pfn, write, n);
    stats.fault();
    if (flaw != Flaw.NO_DOMAIN_MAP) {
      domain.map(pfn);
    }
    mmu.map(page, pfn, write, notifiers.get(n)); // only the entry's own callback invalidates it
    // The device TLB may still hold the translation of an entry of this page that left the cache
    // with operations in flight (its release, deferred to them, will not touch a newer entry's).
    mmu.flushTlb(page, page + PAGE);
    entries.put(page, e);
    return e;
  }

  /** Inserts a notifier for {@code page}; the checker knows it by a name of its own. */
  private MmuIntervalNotifier insertNotifier(long page) throws ErrnoException {
    String name;
    cache.lock();
    try {
      name = RegCacheEntry.name(page) + "#" + ++serial;
    } finally {
      cache.unlock();
    }
    MmuIntervalNotifier n =
        mm.insertIntervalNotifier(
            page, PAGE, (sub, range, seq) -> invalidate(name, sub, range, seq), cache);
    checker.subscriptionInserted(id, name, mm.name(), page, page + PAGE);
    cache.lock();
    try {
      notifiers.put(n, name);
    } finally {
      cache.unlock();
    }
    return n;
  }

  /** Removes a notifier; waits for its running callback, so never under the cache lock. */
  private void dropNotifier(MmuIntervalNotifier n) {
    String name;
    cache.lock();
    try {
      name = notifiers.remove(n);
    } finally {
      cache.unlock();
    }
    if (name != null) {
      n.remove();
      checker.subscriptionRemoved(id, name);
    }
  }

  private void removeRetired() {
    List<MmuIntervalNotifier> todo;
    cache.lock();
    try {
      todo = new ArrayList<>(retired);
      retired.clear();
    } finally {
      cache.unlock();
    }
    todo.forEach(this::dropNotifier);
  }

  /**
   * Drops the entry's translation, IOMMU mapping and pin, once, and retires its notifier. Cache
   * lock held.
   */
  private void release(RegCacheEntry e) {
    if (e.released) {
      return;
    }
    e.released = true;
    if (!tornDown) {
      retired.add(e.notifier);
    }
    RegCacheEntry current = entries.get(e.va);
    if (current == null || current == e) { // else a newer entry of the page owns the translation
      mmu.unmapRange(e.va, e.va + PAGE);
      mmu.flushTlb(e.va, e.va + PAGE);
    }
    if (flaw != Flaw.NO_DOMAIN_MAP) {
      domain.unmap(e.pfn);
    }
    if (!(flaw == Flaw.UNPINS_UNDER_USERS && e.invalid)) { // that flaw unpinned already
      unpin(e.pfn);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The callback

  /** The invalidate callback of every entry notifier. */
  private boolean invalidate(
      String name, MmuIntervalNotifier n, MmuNotifierRange range, long curSeq) {
    checker.invalidateCallbackEntered(id, name, mm.name(), range.start(), range.end());
    stats.invalidation();
    if (range.blockable()) {
      cache.lock();
    } else if (!cache.tryLock()) {
      stats.refused();
      return false; // the OOM reaper tries again later
    }
    try {
      n.setSeq(curSeq);
      RegCacheEntry e = entries.get(n.start());
      if (e != null && e.notifier == n && !e.invalid) {
        e.invalid = true;
        if (flaw != Flaw.USES_INVALIDATED_ENTRY) {
          entries.remove(e.va);
        }
        if (e.users > 0) {
          outlivedInvalidations.incrementAndGet();
        }
        if (flaw == Flaw.UNPINS_UNDER_USERS) {
          unpin(e.pfn); // the flaw: the frame can be freed under the operation
        }
        if (e.users == 0 && flaw != Flaw.USES_INVALIDATED_ENTRY) {
          release(e);
        }
      }
    } finally {
      cache.unlock();
    }
    checker.invalidateCallbackReturned(id, name, mm.name(), range.start(), range.end(), curSeq);
    return true;
  }

  private void unpin(long pfn) {
    memory.unpin(pfn);
    stats.unpinned(1);
  }

  @Override
  public String toString() {
    return id + " (" + variant + (flaw == Flaw.NONE ? "" : ", planted " + flaw) + ")";
  }
}
