package io.mmulab.core;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierFactory;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.NonblockRefusal;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Lockable;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SyncRuntime;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The kernel side of one address space (kernel {@code struct mm_struct}): user and structure
 * reference counts, the mmap lock, and the notifier subscriptions. Drivers see it as an {@link
 * AddressSpace}; the simulated memory manager calls the {@code invalidateRange*} entry points
 * around every page-table change.
 *
 * <p>Mappings come from an {@link MmBackend}: on its own an {@code MmStruct} has none ({@link
 * EmptyMmBackend}); the sim module supplies one with VMAs and page tables.
 */
public final class MmStruct implements AddressSpace {
  private static final System.Logger LOG = System.getLogger(MmStruct.class.getName());
  private static final AtomicInteger IDS = new AtomicInteger();

  private final String name;
  private final RwSemaphore mmapLock;
  private final AtomicInteger users = new AtomicInteger(1);
  // mm_count: one reference stands for all users together, one more per interval subscription.
  private final AtomicInteger count = new AtomicInteger(1);
  private final MmuNotifierSubscriptions subscriptions;
  private final MmBackend backend;
  private final List<String> warnings = new CopyOnWriteArrayList<>();
  private volatile boolean notifierRegistered;

  /**
   * Creates an address space with one user and no mappings.
   *
   * @param runtime where locks and waits come from
   */
  public MmStruct(SyncRuntime runtime) {
    this(runtime, "mm#" + IDS.incrementAndGet(), EmptyMmBackend::new);
  }

  /**
   * Creates an address space with one user.
   *
   * @param runtime where locks and waits come from
   * @param name a name for messages
   * @param backend makes the mappings of the new address space, given the address space
   */
  public MmStruct(SyncRuntime runtime, String name, Function<MmStruct, MmBackend> backend) {
    Objects.requireNonNull(runtime, "runtime is null");
    this.name = Objects.requireNonNull(name, "name is null");
    this.mmapLock = runtime.newRwSemaphore(name + ".mmap_lock");
    this.subscriptions = new MmuNotifierSubscriptions(this, runtime);
    this.backend = Objects.requireNonNull(backend.apply(this), "backend is null");
  }

  /**
   * Returns what gives this address space its mappings.
   *
   * @return the backend
   */
  public MmBackend backend() {
    return backend;
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * Returns the notifier state, for inspection by tests, checkers and benchmarks.
   *
   * @return the subscriptions of this address space
   */
  public MmuNotifierSubscriptions notifierSubscriptions() {
    return subscriptions;
  }

  // ---------------------------------------------------------------------------------------------
  // AddressSpace

  @Override
  public MmuIntervalNotifier insertIntervalNotifier(
      long start, long length, MmuIntervalNotifierOps ops) throws ErrnoException {
    return insertIntervalNotifier(start, length, ops, null);
  }

  @Override
  public MmuIntervalNotifier insertIntervalNotifier(
      long start, long length, MmuIntervalNotifierOps ops, @Nullable Lockable updateLock)
      throws ErrnoException {
    if (mmapLock.isHeldByCurrentThread()) {
      throw new LockRuleViolation(
          LockRule.INSERT_HOLDING_MMAP_LOCK,
          "insert on " + name + " while holding " + mmapLock.name() + "; use the locked variant");
    }
    if (!notifierRegistered && users() > 0) {
      // The first registration takes the mmap lock for write (kernel mmu_notifier_register).
      mmapLock.downWrite();
      notifierRegistered = true;
      mmapLock.upWrite();
    }
    return subscriptions.insert(start, length, ops, updateLock);
  }

  @Override
  public MmuIntervalNotifier insertIntervalNotifierLocked(
      long start, long length, MmuIntervalNotifierOps ops, @Nullable Lockable updateLock)
      throws ErrnoException {
    requireMmapWriteLock("insertLocked");
    notifierRegistered = true;
    return subscriptions.insert(start, length, ops, updateLock);
  }

  @Override
  public void registerNotifier(MmuNotifier notifier) throws ErrnoException {
    Objects.requireNonNull(notifier, "notifier is null");
    requireUsers("register");
    mmapLock.downWrite();
    try {
      notifierRegistered = true;
      subscriptions.registerClassic(notifier, null);
    } finally {
      mmapLock.upWrite();
    }
  }

  @Override
  public void registerNotifierLocked(MmuNotifier notifier) throws ErrnoException {
    Objects.requireNonNull(notifier, "notifier is null");
    requireMmapWriteLock("registerNotifierLocked");
    requireUsers("register");
    notifierRegistered = true;
    subscriptions.registerClassic(notifier, null);
  }

  @Override
  public void unregisterNotifier(MmuNotifier notifier) {
    Objects.requireNonNull(notifier, "notifier is null");
    subscriptions.unregisterClassic(notifier);
  }

  @Override
  public <T extends MmuNotifier> T getNotifier(MmuNotifierFactory<T> factory)
      throws ErrnoException {
    Objects.requireNonNull(factory, "factory is null");
    requireUsers("getNotifier");
    mmapLock.downWrite();
    try {
      notifierRegistered = true;
      return subscriptions.getClassic(factory);
    } finally {
      mmapLock.upWrite();
    }
  }

  @Override
  public void putNotifier(MmuNotifier notifier) {
    Objects.requireNonNull(notifier, "notifier is null");
    subscriptions.putClassic(notifier);
  }

  @Override
  public void synchronizeNotifiers() {
    subscriptions.synchronizeClassic();
  }

  private void requireUsers(String op) throws ErrnoException {
    if (users() <= 0) {
      throw new ErrnoException(Errno.EINVAL, op + " on " + name + ", which has no users");
    }
  }

  private void requireMmapWriteLock(String op) {
    if (!mmapLock.isWriteHeldByCurrentThread()) {
      throw new LockRuleViolation(
          LockRule.INSERT_LOCKED_WITHOUT_MMAP_WRITE_LOCK,
          op + " on " + name + " without " + mmapLock.name() + " held for write");
    }
  }

  /**
   * Selects what a classic notifier's refusal of a non-blockable start does (see {@link
   * NonblockRefusal}); {@link NonblockRefusal#END_ALL_CLOSE_WINDOW} until changed.
   *
   * @param rule the rule
   */
  public void setNonblockRefusal(NonblockRefusal rule) {
    subscriptions.nonblockRefusal(Objects.requireNonNull(rule, "rule is null"));
  }

  /**
   * Returns the selected {@link NonblockRefusal} rule.
   *
   * @return the rule
   */
  public NonblockRefusal nonblockRefusal() {
    return subscriptions.nonblockRefusal();
  }

  @Override
  public int getUserPages(long start, int nrPages, int gupFlags, long[] pfns)
      throws ErrnoException {
    Objects.requireNonNull(pfns, "pfns is null");
    if ((start & (PAGE_SIZE - 1)) != 0) {
      throw new IllegalArgumentException(
          "getUserPages start 0x" + Long.toHexString(start) + " not page-aligned");
    }
    if (nrPages < 1 || pfns.length < nrPages) {
      throw new IllegalArgumentException(
          "getUserPages of " + nrPages + " pages into an array of " + pfns.length);
    }
    if ((gupFlags & ~Gup.ALL) != 0) {
      throw new IllegalArgumentException(
          "bad getUserPages flags 0x"
              + Integer.toHexString(gupFlags)
              + ": unknown flag bits 0x"
              + Integer.toHexString(gupFlags & ~Gup.ALL));
    }
    if ((gupFlags & Gup.FOLL_LONGTERM) != 0 && (gupFlags & Gup.FOLL_PIN) == 0) {
      throw new IllegalArgumentException(
          "bad getUserPages flags 0x"
              + Integer.toHexString(gupFlags)
              + ": FOLL_LONGTERM is only valid together with FOLL_PIN (pin_user_pages*),"
              + " never with plain get_user_pages references");
    }
    requireMmapLock("getUserPages");
    return backend.getUserPages(start, nrPages, gupFlags, pfns);
  }

  @Override
  public void hmmRangeFault(HmmRange range) throws ErrnoException {
    if (range.notifier().addressSpace() != this) {
      throw new IllegalArgumentException("hmm range of " + range.notifier() + " passed to " + name);
    }
    if (range.notifier() instanceof IntervalSubscription sub && sub.removeCalled) {
      throw new LockRuleViolation(LockRule.USE_AFTER_REMOVE, "hmmRangeFault with removed " + sub);
    }
    requireMmapLock("hmmRangeFault");
    backend.hmmRangeFault(range);
  }

  private void requireMmapLock(String op) {
    if (!mmapLock.isHeldByCurrentThread()) {
      throw new LockRuleViolation(
          LockRule.MMAP_LOCK_NOT_HELD,
          op + " on " + name + " without " + mmapLock.name() + " held");
    }
  }

  @Override
  public RwSemaphore mmapLock() {
    return mmapLock;
  }

  @Override
  public void mmget() {
    if (users.getAndIncrement() <= 0) {
      users.decrementAndGet();
      throw new IllegalStateException(
          "mmget on " + name + ", which has no users; use mmgetNotZero");
    }
  }

  @Override
  public boolean mmgetNotZero() {
    int u;
    do {
      u = users.get();
      if (u <= 0) {
        return false;
      }
    } while (!users.compareAndSet(u, u + 1));
    return true;
  }

  @Override
  public void mmput() {
    int u;
    do {
      u = users.get();
      if (u <= 0) {
        throw new IllegalStateException("mmput on " + name + ", which has no users");
      }
    } while (!users.compareAndSet(u, u - 1));
    if (u == 1) {
      try {
        backend.exitMmap();
      } finally {
        mmdrop();
      }
    }
  }

  @Override
  public int users() {
    return users.get();
  }

  // ---------------------------------------------------------------------------------------------
  // Structure references (kernel mmgrab / mmdrop)

  void mmgrab() {
    count.incrementAndGet();
  }

  void mmdrop() {
    if (count.decrementAndGet() < 0) {
      throw new IllegalStateException("mm_count of " + name + " went negative");
    }
  }

  /**
   * Returns the structure reference count (kernel {@code mm_count}): one for the users together
   * plus one per live interval subscription.
   *
   * @return the count
   */
  public int mmCount() {
    return count.get();
  }

  // ---------------------------------------------------------------------------------------------
  // Core-mm entry points

  /**
   * Announces a blockable invalidation (kernel {@code mmu_notifier_invalidate_range_start}): calls
   * every intersecting interval subscription, then every classic notifier. The caller changes the
   * page tables afterwards and then calls {@link #invalidateRangeEnd} with the same range on the
   * same thread. A callback cannot fail it: one that throws counts as one that returned, every
   * other subscriber is still called, the window stays open and this method returns normally; the
   * throwable is rethrown by the matching {@link #invalidateRangeEnd}, after the window is closed,
   * so the caller completes its change first (see {@link io.mmulab.api.MmuNotifier}).
   *
   * @param range the invalidation; its blockable flag is overwritten with true
   * @throws IllegalArgumentException if the range belongs to another address space
   */
  public void invalidateRangeStart(MmuNotifierRange range) {
    subscriptions.invalidateRangeStart(range);
  }

  /**
   * Announces a non-blockable invalidation (kernel {@code
   * mmu_notifier_invalidate_range_start_nonblock}), as the OOM reaper does.
   *
   * @param range the invalidation; its blockable flag is overwritten with false
   * @throws ErrnoException {@link Errno#EAGAIN} if a subscriber could not proceed without sleeping;
   *     end must then not be called. An interval subscription's refusal closes the window; a
   *     classic notifier's refusal does what {@link #nonblockRefusal()} says. A callback that
   *     throws is not a refusal: without a refusal the start succeeds and the end rethrows, as for
   *     {@link #invalidateRangeStart}; with one, the throwable is thrown here in place of the
   *     {@code EAGAIN} (which it carries as suppressed), after the refusal's unwinding
   */
  public void invalidateRangeStartNonblock(MmuNotifierRange range) throws ErrnoException {
    subscriptions.invalidateRangeStartNonblock(range);
  }

  /**
   * Closes an invalidation opened on this thread (kernel {@code
   * mmu_notifier_invalidate_range_end}); the last end of a window applies deferred inserts and
   * removals and wakes sleepers.
   *
   * @param range the range passed to the start
   * @throws LockRuleViolation if this thread has no open start for the range
   * @throws RuntimeException what a callback of the start or of this end threw (an {@link Error}
   *     likewise): the first one, later ones suppressed, once the window is closed and every
   *     classic notifier has been ended
   */
  public void invalidateRangeEnd(MmuNotifierRange range) {
    subscriptions.invalidateRangeEnd(range);
  }

  /**
   * Process exit, before mappings are torn down (kernel {@code mmu_notifier_release}): one
   * blockable RELEASE window over {@code [0, ULONG_MAX)} for the interval subscriptions (which stay
   * subscribed), then every classic notifier's release while it is still registered, after which
   * they are unregistered and a grace period passes.
   */
  public void mmuNotifierRelease() {
    subscriptions.release();
  }

  /**
   * Tells every classic notifier that CPU page-table entries of {@code [start, end)} changed
   * (kernel {@code mmu_notifier_arch_invalidate_secondary_tlbs}); the caller holds the page-table
   * lock, so the callbacks must not sleep.
   *
   * @param start first address
   * @param end address after the last
   */
  public void invalidateSecondaryTlbs(long start, long end) {
    subscriptions.invalidateSecondaryTlbs(start, end);
  }

  /**
   * Page aging (kernel {@code mmu_notifier_clear_flush_young}): asks every classic notifier to
   * clear and flush its accessed bits of {@code [start, end)}; the caller holds the page-table
   * lock.
   *
   * @param start first address
   * @param end address after the last
   * @return true if any notifier's device had accessed the range
   */
  public boolean clearFlushYoung(long start, long end) {
    return subscriptions.clearYoung(start, end, true);
  }

  /**
   * Page aging without a flush (kernel {@code mmu_notifier_clear_young}).
   *
   * @param start first address
   * @param end address after the last
   * @return true if any notifier's device had accessed the range
   */
  public boolean clearYoung(long start, long end) {
    return subscriptions.clearYoung(start, end, false);
  }

  /**
   * Page aging, read only (kernel {@code mmu_notifier_test_young}).
   *
   * @param address the page
   * @return true if some notifier's device accessed it
   */
  public boolean testYoung(long address) {
    return subscriptions.testYoung(address);
  }

  // ---------------------------------------------------------------------------------------------
  // Warnings (kernel WARN_ON): recorded, logged, never thrown.

  void warn(String message) {
    warnings.add(message);
    LOG.log(Level.WARNING, "{0}: {1}", name, message);
  }

  /**
   * Returns the warnings recorded so far: driver bugs the kernel would {@code WARN_ON} but survive,
   * such as a callback returning false for a blockable range.
   *
   * @return an unmodifiable snapshot, oldest first
   */
  public List<String> warnings() {
    return List.copyOf(warnings);
  }

  @Override
  public String toString() {
    return name;
  }
}
