package io.mmulab.core;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierFactory;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.NonblockRefusal;
import io.mmulab.api.sync.Lockable;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The notifier state of one address space (kernel {@code struct mmu_notifier_subscriptions}): the
 * interval tree of subscriptions, the collision-retry sequence word, the count of open
 * invalidations, the deferred list, the wait queue and the classic notifiers.
 *
 * <h2>Locking and ordering</h2>
 *
 * <ul>
 *   <li>{@code lock} guards every field except the classic list and the lockdep sets. It is never
 *       held across a callback.
 *   <li>{@code invalidateSeq} is even when no window that hit a subscription is open, odd while one
 *       is ("tree frozen"). While odd, the tree's structure does not change: insertions and
 *       removals go to the deferred list and are applied by the last end. That is why the
 *       invalidating thread may walk the tree after releasing the lock: its lock acquisition in
 *       start happened after the last structural change, and none happens until its own end.
 *   <li>{@code invalidateSeq} is volatile only because {@link #readBegin}'s sleep condition reads
 *       it without the lock; every write is under the lock.
 * </ul>
 *
 * <p>Deliberate difference from the kernel: the kernel counts open windows only once the first
 * interval subscription registered ({@code has_itree}); we count from creation. The kernel flips
 * {@code has_itree} under {@code mm_take_all_locks}, when no invalidation can be in flight, so the
 * two are indistinguishable to a driver.
 */
public final class MmuNotifierSubscriptions {
  /** The initial sequence value; the first subscription inserted while idle gets 1. */
  static final long INITIAL_SEQ = 2;

  private final MmStruct mm;
  private final SpinLock lock;
  private final WaitQueue wq;

  private volatile long invalidateSeq = INITIAL_SEQ;
  private long activeInvalidateRanges;
  private final IntervalTree<IntervalSubscription> itree = new IntervalTree<>();
  private @Nullable IntervalSubscription deferredHead;
  private int deferredCount;

  /**
   * A classic registration. {@code factory} is null for {@link MmStruct#registerNotifier}; {@code
   * users} counts the references of a notifier got from a factory. Guarded by {@code classicLock}.
   */
  private static final class Classic {
    final MmuNotifier notifier;
    final @Nullable MmuNotifierFactory<MmuNotifier> factory;
    int users = 1;
    boolean listed = true;

    Classic(MmuNotifier notifier, @Nullable MmuNotifierFactory<MmuNotifier> factory) {
      this.notifier = notifier;
      this.factory = factory;
    }
  }

  // The classic list, newest first, read without a lock inside SRCU sections (kernel hlist under
  // RCU). Changed only under classicLock, which also guards `registered` (every registration that
  // is listed or was unlinked by exit and not yet unregistered or put) and the Classic fields. It
  // is bookkeeping for the kernel's spin lock, never held across a callback or a wait, and no
  // scheduling point.
  private final CopyOnWriteArrayList<Classic> classic = new CopyOnWriteArrayList<>();
  private final Map<MmuNotifier, Classic> registered = new IdentityHashMap<>();
  private final Object classicLock = new Object();
  private final NotifierSrcu srcu;
  private volatile NonblockRefusal nonblockRefusal = NonblockRefusal.END_ALL_CLOSE_WINDOW;

  // Lockdep: locks taken inside callbacks (interval, classic start or end) of this address space,
  // and locks held by threads while they called readBegin/remove here. A lock in both sets is a
  // potential deadlock.
  private final Set<Lockable> callbackLocks = ConcurrentHashMap.newKeySet();
  private final Set<Lockable> locksHeldAcrossWait = ConcurrentHashMap.newKeySet();

  private final SyncRuntime runtime;

  MmuNotifierSubscriptions(MmStruct mm, SyncRuntime runtime) {
    this.mm = mm;
    this.runtime = runtime;
    this.lock = runtime.newSpinLock(mm.name() + ".notifier_subscriptions.lock");
    this.wq = runtime.newWaitQueue(mm.name() + ".notifier_subscriptions.wq");
    this.srcu = new NotifierSrcu(runtime, mm.name());
  }

  void nonblockRefusal(NonblockRefusal rule) {
    nonblockRefusal = rule;
  }

  NonblockRefusal nonblockRefusal() {
    return nonblockRefusal;
  }

  MmStruct mm() {
    return mm;
  }

  // ---------------------------------------------------------------------------------------------
  // Subscribing

  IntervalSubscription insert(
      long start, long length, MmuIntervalNotifierOps ops, @Nullable Lockable updateLock)
      throws ErrnoException {
    if (ops == null) {
      throw new NullPointerException("ops is null");
    }
    if (length == 0 || Long.compareUnsigned(length - 1, -1L - start) > 0) {
      throw new ErrnoException(
          Errno.EOVERFLOW,
          "interval start 0x"
              + Long.toHexString(start)
              + " length 0x"
              + Long.toHexString(length)
              + " is empty or passes 2^64");
    }
    if (mm.users() <= 0) {
      mm.warn("interval insert on " + mm.name() + ", which has no users");
      throw new ErrnoException(
          Errno.EINVAL, "interval insert on " + mm.name() + ", which has no users");
    }
    IntervalSubscription sub =
        new IntervalSubscription(this, start, start + length - 1, ops, updateLock);
    mm.mmgrab();
    lock.lock();
    try {
      if (activeInvalidateRanges != 0) {
        if (isInvalidating()) {
          deferredPush(sub);
        } else {
          invalidateSeq |= 1;
          itree.insert(sub);
        }
        sub.invalidateSeq = invalidateSeq;
      } else {
        if (isInvalidating()) {
          mm.warn("idle address space " + mm.name() + " has odd seq " + invalidateSeq);
        }
        sub.invalidateSeq = invalidateSeq - 1;
        itree.insert(sub);
      }
    } finally {
      lock.unlock();
    }
    return sub;
  }

  void remove(IntervalSubscription sub) {
    checkMayWaitForInvalidations(
        sub, LockRule.REMOVE_IN_CALLBACK, LockRule.REMOVE_HOLDING_CALLBACK_LOCK);
    long waitSeq = 0;
    lock.lock();
    try {
      if (sub.removeCalled) {
        throw new LockRuleViolation(LockRule.DOUBLE_REMOVE, "second remove of " + sub);
      }
      sub.removeCalled = true;
      if (isInvalidating()) {
        if (!sub.inTree()) {
          // Its insert is still deferred: no iterator can have seen it.
          deferredUnlink(sub);
        } else {
          deferredPush(sub);
          waitSeq = invalidateSeq;
        }
      } else {
        if (!sub.inTree()) {
          mm.warn("remove of " + sub + ", which is not in the tree while idle");
        } else {
          itree.remove(sub);
        }
      }
    } finally {
      lock.unlock();
    }
    if (waitSeq != 0) {
      final long seq = waitSeq;
      // The comparison runs under the lock: the final end unlinks the node before it releases
      // the lock, so seeing the new seq under the lock means the node is gone (kernel fix
      // 319561669a59; comparing without the lock could return while the unlink was in flight).
      wq.waitEvent(() -> seqReleased(seq));
    }
    mm.mmdrop();
  }

  private boolean seqReleased(long seq) {
    lock.lock();
    try {
      return invalidateSeq != seq;
    } finally {
      lock.unlock();
    }
  }

  @SuppressWarnings("unchecked")
  void registerClassic(MmuNotifier notifier, @Nullable MmuNotifierFactory<?> factory) {
    synchronized (classicLock) {
      if (registered.containsKey(notifier)) {
        throw new IllegalArgumentException(notifier + " is already registered on " + mm.name());
      }
      Classic c = new Classic(notifier, (MmuNotifierFactory<MmuNotifier>) factory);
      registered.put(notifier, c);
      classic.add(0, c); // newest first, like hlist_add_head
    }
  }

  /**
   * Kernel {@code mmu_notifier_unregister}: release while still listed (if exit has not unlinked
   * it), unlink, then a grace period so that no callback of it is running or will run.
   */
  void unregisterClassic(MmuNotifier notifier) {
    NotifierSrcu.checkNotInCallback("unregisterNotifier");
    Classic c;
    synchronized (classicLock) {
      c = registered.get(notifier);
      if (c == null) {
        throw new IllegalArgumentException(notifier + " is not registered on " + mm.name());
      }
      if (c.factory != null) {
        throw new IllegalArgumentException(
            notifier + " was got from a factory on " + mm.name() + "; drop it with putNotifier");
      }
    }
    if (isListed(c)) {
      long t = srcu.readLock();
      try {
        notifier.release(mm);
      } finally {
        srcu.readUnlock(t);
      }
    }
    synchronized (classicLock) {
      unlink(c);
      registered.remove(notifier);
    }
    srcu.synchronize();
  }

  /** Kernel {@code mmu_notifier_get_locked}: a reference on the listed notifier of the factory. */
  @SuppressWarnings("unchecked")
  <T extends MmuNotifier> T getClassic(MmuNotifierFactory<T> factory) throws ErrnoException {
    synchronized (classicLock) {
      for (Classic c : classic) {
        if (c.factory == factory) {
          c.users++;
          return (T) c.notifier;
        }
      }
    }
    T n = factory.allocNotifier(mm);
    if (n == null) {
      throw new NullPointerException(factory + " allocated a null notifier");
    }
    registerClassic(n, factory);
    return n;
  }

  /** Kernel {@code mmu_notifier_put}: the last reference unlinks and frees after a grace period. */
  void putClassic(MmuNotifier notifier) {
    Classic c;
    synchronized (classicLock) {
      c = registered.get(notifier);
      if (c == null || c.factory == null) {
        throw new IllegalArgumentException(
            notifier + " was not got from a factory on " + mm.name());
      }
      if (--c.users > 0) {
        return;
      }
      unlink(c);
      registered.remove(notifier);
    }
    srcu.callAfterGracePeriod(() -> c.factory.freeNotifier(c.notifier));
  }

  void synchronizeClassic() {
    srcu.barrier();
  }

  boolean isClassicRegistered(MmuNotifier notifier) {
    synchronized (classicLock) {
      Classic c = registered.get(notifier);
      return c != null && c.listed;
    }
  }

  private boolean isListed(Classic c) {
    synchronized (classicLock) {
      return c.listed;
    }
  }

  /** Caller holds classicLock. */
  private void unlink(Classic c) {
    if (c.listed) {
      c.listed = false;
      classic.remove(c);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Read side

  long readBegin(IntervalSubscription sub) {
    checkMayWaitForInvalidations(
        sub, LockRule.READ_BEGIN_IN_CALLBACK, LockRule.READ_BEGIN_HOLDING_CALLBACK_LOCK);
    if (sub.removeCalled) {
      throw new LockRuleViolation(LockRule.USE_AFTER_REMOVE, "readBegin on removed " + sub);
    }
    // The kernel samples both values under the lock. Two volatile reads in this order give the
    // same answer: if the subscription's value was set by a callback of a window, reading the
    // container's value afterwards either still sees that window (equal: wait) or a later value
    // (that window ended). Reading them the other way round could pair a stale container value
    // with a newer window's subscription value and miss that the page tables are mid-change.
    long seq = sub.invalidateSeq;
    if (seq == invalidateSeq) {
      // This subscription's callback already ran in the open window and the page tables may be
      // mid-change: wait for the window to end. A window that has not reached this subscription
      // does not block; readRetry catches it.
      wq.waitEvent(() -> invalidateSeq != seq);
    }
    runtime.journal(() -> "readBegin " + sub + ": seq " + seq);
    return seq;
  }

  /** Records a sequence read or write in the runtime's journal, if it keeps one. */
  void journal(Supplier<String> detail) {
    runtime.journal(detail);
  }

  void checkUpdateLockHeld(IntervalSubscription sub, String op) {
    if (sub.updateLock != null
        ? !sub.updateLock.isHeldByCurrentThread()
        : !LockDep.holdsAnyLock()) {
      LockRule rule =
          op.equals("readRetry")
              ? LockRule.READ_RETRY_WITHOUT_UPDATE_LOCK
              : LockRule.SET_SEQ_WITHOUT_UPDATE_LOCK;
      throw new LockRuleViolation(
          rule,
          op
              + " on "
              + sub
              + " without "
              + (sub.updateLock != null ? "its update lock " + sub.updateLock.name() : "any lock"));
    }
  }

  void checkSetSeq(IntervalSubscription sub, long curSeq) {
    ThreadState.CallbackFrame frame = null;
    for (ThreadState.CallbackFrame f : ThreadState.current().callbacks) {
      if (f.sub() == sub) {
        frame = f;
      }
    }
    if (frame == null) {
      throw new LockRuleViolation(
          LockRule.SET_SEQ_OUTSIDE_CALLBACK,
          "setSeq(" + curSeq + ") on " + sub + " outside its callback");
    }
    if (frame.curSeq() != curSeq) {
      throw new LockRuleViolation(
          LockRule.SET_SEQ_WRONG_VALUE,
          "setSeq(" + curSeq + ") on " + sub + " whose callback received curSeq " + frame.curSeq());
    }
    checkUpdateLockHeld(sub, "setSeq");
  }

  // ---------------------------------------------------------------------------------------------
  // Invalidation (the core-mm side)

  // A callback cannot fail an invalidation (the kernel has no way to): a callback that throws is
  // treated as one that returned, every other subscriber is still called, the window stays open
  // and the page-table change goes on; the matching end closes the window, ends every classic
  // notifier, and only then rethrows the first throwable, later ones suppressed.

  void invalidateRangeStart(MmuNotifierRange range) {
    MmuNotifierRange r = checkOwnRange(range).withBlockable(true);
    ThreadState ts = ThreadState.current();
    ts.lastFailedNonblockStart = null;
    Throwable[] failure = {null};
    itreeInvalidate(r, failure);
    startClassic(ts, r, failure);
    ts.openWindows.add(new ThreadState.OpenWindow(this, r, failure[0]));
  }

  void invalidateRangeStartNonblock(MmuNotifierRange range) throws ErrnoException {
    MmuNotifierRange r = checkOwnRange(range).withBlockable(false);
    ThreadState ts = ThreadState.current();
    ts.lastFailedNonblockStart = null;
    Throwable[] failure = {null};
    if (!itreeInvalidate(r, failure)) {
      ts.lastFailedNonblockStart = new ThreadState.OpenWindow(this, r);
      throw refusal(
          failure[0],
          new ErrnoException(Errno.EAGAIN, "an interval subscription could not block for " + r));
    }
    MmuNotifier refused = startClassic(ts, r, failure);
    if (refused != null) {
      NonblockRefusal rule = nonblockRefusal;
      if (rule != NonblockRefusal.LINUX_5_5) {
        failure[0] = endClassic(ts, r, failure[0]);
      }
      if (rule == NonblockRefusal.END_ALL_CLOSE_WINDOW) {
        itreeInvEnd();
      }
      ts.lastFailedNonblockStart = new ThreadState.OpenWindow(this, r);
      throw refusal(
          failure[0],
          new ErrnoException(
              Errno.EAGAIN, "classic notifier " + refused + " could not block for " + r));
    }
    ts.openWindows.add(new ThreadState.OpenWindow(this, r, failure[0]));
  }

  /**
   * What a refused non-blocking start throws: the {@code EAGAIN}, unless a callback of the start
   * threw, whose throwable is thrown with the {@code EAGAIN} suppressed.
   */
  private static ErrnoException refusal(Throwable failure, ErrnoException eagain) {
    if (failure != null) {
      rethrowIfAny(addFailure(failure, eagain));
    }
    return eagain;
  }

  /**
   * Starts every classic notifier, each one even after a refusal or a throw (as the kernel calls
   * every one). A blockable refusal is a driver bug that is warned about and otherwise ignored; a
   * throw is recorded in {@code failure} and the notifier counts as started.
   *
   * @return the last notifier that refused a non-blockable range, or null
   */
  private @Nullable MmuNotifier startClassic(
      ThreadState ts, MmuNotifierRange r, Throwable[] failure) {
    if (classic.isEmpty()) {
      return null;
    }
    List<Classic> snapshot = List.copyOf(classic);
    long ticket = srcu.readLock();
    MmuNotifier refused = null;
    try {
      for (Classic c : snapshot) {
        boolean ok;
        try {
          ok = callClassic(ts, c.notifier, r, true);
        } catch (RuntimeException | Error e) {
          failure[0] = addFailure(failure[0], e);
          ok = true;
        }
        if (!ok) {
          if (r.blockable()) {
            mm.warn("classic notifier " + c.notifier + " failed blockable " + r);
          } else {
            refused = c.notifier;
            // 5.13 added the warning with the ends it calls after a refusal; 5.5 had neither.
            if (nonblockRefusal != NonblockRefusal.LINUX_5_5 && overridesEnd(c.notifier)) {
              mm.warn(
                  "classic notifier "
                      + c.notifier
                      + " refused "
                      + r
                      + " but implements invalidateRangeEnd, which the core calls anyway");
            }
          }
        }
      }
    } finally {
      srcu.readUnlock(ticket);
    }
    return refused;
  }

  private static boolean overridesEnd(MmuNotifier n) {
    try {
      return n.getClass()
              .getMethod("invalidateRangeEnd", MmuNotifierRange.class)
              .getDeclaringClass()
          != MmuNotifier.class;
    } catch (NoSuchMethodException e) {
      throw new AssertionError("MmuNotifier.invalidateRangeEnd is missing", e);
    }
  }

  /** One classic start or end, as a callback frame for the lock rules. */
  private boolean callClassic(ThreadState ts, MmuNotifier n, MmuNotifierRange r, boolean start) {
    ts.callbacks.add(new ThreadState.CallbackFrame(this, null, n, r, 0));
    try {
      if (start) {
        return n.invalidateRangeStart(r);
      }
      n.invalidateRangeEnd(r);
      return true;
    } finally {
      ts.callbacks.remove(ts.callbacks.size() - 1);
    }
  }

  void invalidateRangeEnd(MmuNotifierRange range) {
    checkOwnRange(range);
    ThreadState ts = ThreadState.current();
    ThreadState.OpenWindow w = ts.takeOpenWindow(this, range);
    if (w == null) {
      ThreadState.OpenWindow failed = ts.lastFailedNonblockStart;
      if (failed != null && failed.subscriptions() == this && failed.range().sameWindow(range)) {
        throw new LockRuleViolation(
            LockRule.END_AFTER_FAILED_NONBLOCK_START,
            "end of " + range + " whose non-blocking start failed with EAGAIN");
      }
      throw new LockRuleViolation(
          LockRule.END_WITHOUT_START,
          Thread.currentThread().getName()
              + " ends "
              + range
              + " without an open start on "
              + mm.name());
    }
    itreeInvEnd();
    rethrowIfAny(endClassic(ts, w.range(), w.failure()));
  }

  /**
   * Process exit (kernel {@code mmu_notifier_release}): one RELEASE window, then every listed
   * classic notifier's release while it is still listed, then all are unlinked and a grace period
   * passes (so a racing unregister has finished its own release call). Every classic notifier is
   * released and unlinked even if a callback throws; the first failure propagates afterwards, later
   * ones suppressed.
   */
  void release() {
    MmuNotifierRange r = MmuNotifierRange.release(mm);
    Throwable[] failure = {null};
    itreeInvalidate(r, failure);
    itreeInvEnd();
    Throwable firstFailure = failure[0];
    if (!classic.isEmpty()) {
      long ticket = srcu.readLock();
      try {
        for (Classic c : classic) {
          try {
            c.notifier.release(mm);
          } catch (RuntimeException | Error e) {
            firstFailure = addFailure(firstFailure, e);
          }
        }
      } finally {
        srcu.readUnlock(ticket);
      }
      synchronized (classicLock) {
        for (Classic c : classic) {
          unlink(c);
        }
      }
      srcu.synchronize();
    }
    rethrowIfAny(firstFailure);
  }

  // ---------------------------------------------------------------------------------------------
  // Secondary TLBs and page aging (classic notifiers only; callers hold the page-table lock)

  // Like the invalidation callbacks, every notifier is called even if one throws; the first
  // throwable is rethrown afterwards.

  void invalidateSecondaryTlbs(long start, long end) {
    if (classic.isEmpty()) {
      return;
    }
    Throwable failure = null;
    long ticket = srcu.readLock();
    try {
      for (Classic c : classic) {
        try {
          c.notifier.invalidateSecondaryTlbs(mm, start, end);
        } catch (RuntimeException | Error e) {
          failure = addFailure(failure, e);
        }
      }
    } finally {
      srcu.readUnlock(ticket);
    }
    rethrowIfAny(failure);
  }

  /** Kernel {@code __mmu_notifier_clear_flush_young} (flush) and {@code _clear_young}. */
  boolean clearYoung(long start, long end, boolean flush) {
    if (classic.isEmpty()) {
      return false;
    }
    boolean young = false;
    Throwable failure = null;
    long ticket = srcu.readLock();
    try {
      for (Classic c : classic) {
        try {
          young |=
              flush
                  ? c.notifier.clearFlushYoung(mm, start, end)
                  : c.notifier.clearYoung(mm, start, end);
        } catch (RuntimeException | Error e) {
          failure = addFailure(failure, e);
        }
      }
    } finally {
      srcu.readUnlock(ticket);
    }
    rethrowIfAny(failure);
    return young;
  }

  /** Kernel {@code __mmu_notifier_test_young}: stops at the first notifier that saw an access. */
  boolean testYoung(long address) {
    if (classic.isEmpty()) {
      return false;
    }
    Throwable failure = null;
    boolean young = false;
    long ticket = srcu.readLock();
    try {
      for (Classic c : classic) {
        try {
          if (c.notifier.testYoung(mm, address)) {
            young = true;
            break;
          }
        } catch (RuntimeException | Error e) {
          failure = addFailure(failure, e);
        }
      }
    } finally {
      srcu.readUnlock(ticket);
    }
    rethrowIfAny(failure);
    return young;
  }

  /**
   * Opens the interval side of a window and calls every intersecting subscription. Returns false if
   * a non-blockable callback declined, in which case the window is already closed. A callback that
   * throws counts as one that returned true; its throwable goes to {@code failure}.
   */
  private boolean itreeInvalidate(MmuNotifierRange range, Throwable[] failure) {
    long curSeq;
    IntervalSubscription sub;
    long qs = range.start();
    long ql = range.last();
    lock.lock();
    try {
      activeInvalidateRanges++;
      sub = itree.iterFirst(qs, ql);
      if (sub != null) {
        invalidateSeq |= 1;
      }
      curSeq = invalidateSeq;
    } finally {
      lock.unlock();
    }
    ThreadState ts = ThreadState.current();
    for (; sub != null; sub = itree.iterNext(sub, qs, ql)) {
      boolean ok;
      try {
        ok = callInvalidate(ts, sub, range, curSeq);
      } catch (RuntimeException | Error e) {
        failure[0] = addFailure(failure[0], e);
        ok = true;
      }
      if (!ok) {
        if (range.blockable()) {
          mm.warn("callback of " + sub + " returned false for blockable " + range);
        } else {
          itreeInvEnd();
          return false;
        }
      }
    }
    return true;
  }

  private boolean callInvalidate(
      ThreadState ts, IntervalSubscription sub, MmuNotifierRange range, long curSeq) {
    ts.callbacks.add(new ThreadState.CallbackFrame(this, sub, null, range, curSeq));
    try {
      return sub.ops.invalidate(sub, range, curSeq);
    } finally {
      ts.callbacks.remove(ts.callbacks.size() - 1);
    }
  }

  /** Closes one interval window; the last end of an odd window publishes the deferred changes. */
  private void itreeInvEnd() {
    lock.lock();
    try {
      activeInvalidateRanges--;
      if (activeInvalidateRanges != 0 || !isInvalidating()) {
        return;
      }
      invalidateSeq++;
      while (deferredHead != null) {
        IntervalSubscription sub = deferredHead;
        deferredUnlink(sub);
        if (sub.inTree()) {
          itree.remove(sub);
        } else {
          itree.insert(sub);
        }
      }
    } finally {
      lock.unlock();
    }
    wq.wakeUpAll();
  }

  /**
   * Ends every listed classic notifier (kernel {@code mn_hlist_invalidate_end}), each one even if
   * another throws.
   *
   * @param failure what the window's start recorded, or null
   * @return {@code failure} with the ends' throwables added (or the first of them if it was null)
   */
  private @Nullable Throwable endClassic(
      ThreadState ts, MmuNotifierRange r, @Nullable Throwable failure) {
    if (classic.isEmpty()) {
      return failure;
    }
    long ticket = srcu.readLock();
    try {
      for (Classic c : classic) {
        try {
          callClassic(ts, c.notifier, r, false);
        } catch (RuntimeException | Error e) {
          failure = addFailure(failure, e);
        }
      }
    } finally {
      srcu.readUnlock(ticket);
    }
    return failure;
  }

  /** The first throwable, with {@code next} added as suppressed (once, never itself). */
  static Throwable addFailure(@Nullable Throwable first, Throwable next) {
    if (first == null) {
      return next;
    }
    if (next != first && !List.of(first.getSuppressed()).contains(next)) {
      first.addSuppressed(next);
    }
    return first;
  }

  private static void rethrowIfAny(@Nullable Throwable t) {
    if (t instanceof RuntimeException e) {
      throw e;
    }
    if (t instanceof Error e) {
      throw e;
    }
  }

  private MmuNotifierRange checkOwnRange(MmuNotifierRange range) {
    if (range.mm() != mm) {
      throw new IllegalArgumentException(
          "range " + range + " belongs to " + range.mm().name() + ", not " + mm.name());
    }
    return range;
  }

  private boolean isInvalidating() {
    return (invalidateSeq & 1) != 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Deferred list: intrusive, doubly linked, pushed and drained at the head (LIFO).

  private void deferredPush(IntervalSubscription sub) {
    sub.deferredNext = deferredHead;
    sub.deferredPrev = null;
    if (deferredHead != null) {
      deferredHead.deferredPrev = sub;
    }
    deferredHead = sub;
    sub.onDeferredList = true;
    deferredCount++;
  }

  private void deferredUnlink(IntervalSubscription sub) {
    if (sub.deferredPrev != null) {
      sub.deferredPrev.deferredNext = sub.deferredNext;
    } else {
      deferredHead = sub.deferredNext;
    }
    if (sub.deferredNext != null) {
      sub.deferredNext.deferredPrev = sub.deferredPrev;
    }
    sub.deferredNext = null;
    sub.deferredPrev = null;
    sub.onDeferredList = false;
    deferredCount--;
  }

  // ---------------------------------------------------------------------------------------------
  // Lock rules

  private void checkMayWaitForInvalidations(
      IntervalSubscription sub, LockRule inCallbackRule, LockRule holdingRule) {
    ThreadState ts = ThreadState.current();
    ThreadState.CallbackFrame frame = ts.innermostCallback();
    if (frame != null) {
      throw new LockRuleViolation(
          inCallbackRule,
          "called on "
              + sub
              + " from inside the callback of "
              + frame.who()
              + " for "
              + frame.range());
    }
    for (Lockable held : ts.held) {
      if (callbackLocks.contains(held)) {
        throw new LockRuleViolation(
            holdingRule,
            "called on "
                + sub
                + " holding "
                + held.name()
                + ", which an invalidate callback of "
                + mm.name()
                + " takes: deadlock hazard");
      }
    }
    if (!ts.held.isEmpty()) {
      locksHeldAcrossWait.addAll(ts.held);
    }
  }

  void checkCallbackMayTake(ThreadState.CallbackFrame frame, Lockable l) {
    if (locksHeldAcrossWait.contains(l)) {
      throw new LockRuleViolation(
          LockRule.CALLBACK_TAKES_LOCK_HELD_ACROSS_WAIT,
          "the invalidate callback of "
              + frame.who()
              + " on "
              + mm.name()
              + " takes "
              + l.name()
              + ", which a thread held while calling readBegin or remove: deadlock hazard");
    }
  }

  void noteCallbackLock(Lockable l) {
    callbackLocks.add(l);
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection (a consistent snapshot under the lock)

  /**
   * Returns the sequence word: even when idle, odd while a window that hit a subscription is open.
   *
   * @return the current value
   */
  public long invalidateSeq() {
    return invalidateSeq;
  }

  /**
   * Returns the number of starts not yet ended.
   *
   * @return the count of open invalidations
   */
  public long activeInvalidateRanges() {
    lock.lock();
    try {
      return activeInvalidateRanges;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the subscriptions in the tree, in ascending start order.
   *
   * @return a snapshot
   */
  public List<MmuIntervalNotifier> treeMembers() {
    lock.lock();
    try {
      List<MmuIntervalNotifier> out = new ArrayList<>(itree.size());
      for (IntervalSubscription s = itree.iterFirst(0, -1L);
          s != null;
          s = itree.iterNext(s, 0, -1L)) {
        out.add(s);
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the subscriptions waiting on the deferred list, head first (the order they will be
   * applied in).
   *
   * @return a snapshot
   */
  public List<MmuIntervalNotifier> deferredMembers() {
    lock.lock();
    try {
      List<MmuIntervalNotifier> out = new ArrayList<>(deferredCount);
      for (IntervalSubscription s = deferredHead; s != null; s = s.deferredNext) {
        out.add(s);
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Checks every structural invariant under the lock: the tree's own invariants, seq even when
   * nothing is open, seq odd only while something is open, every subscription's seq odd, the
   * deferred list's links and count.
   *
   * @throws IllegalStateException naming the first broken invariant
   */
  public void checkConsistency() {
    lock.lock();
    try {
      itree.checkInvariants();
      if (activeInvalidateRanges < 0) {
        throw new IllegalStateException("active invalidations negative: " + activeInvalidateRanges);
      }
      if (activeInvalidateRanges == 0 && isInvalidating()) {
        throw new IllegalStateException("idle but seq odd: " + invalidateSeq);
      }
      if (activeInvalidateRanges == 0 && deferredHead != null) {
        throw new IllegalStateException("idle but deferred list not empty");
      }
      for (IntervalSubscription s = itree.iterFirst(0, -1L);
          s != null;
          s = itree.iterNext(s, 0, -1L)) {
        if ((s.invalidateSeq & 1) == 0) {
          throw new IllegalStateException(s + " has even seq " + s.invalidateSeq);
        }
      }
      int n = 0;
      IntervalSubscription prev = null;
      for (IntervalSubscription s = deferredHead; s != null; s = s.deferredNext) {
        if (s.deferredPrev != prev || !s.onDeferredList) {
          throw new IllegalStateException("deferred list link broken at " + s);
        }
        prev = s;
        n++;
      }
      if (n != deferredCount) {
        throw new IllegalStateException(
            "deferred count " + deferredCount + " but " + n + " linked");
      }
    } finally {
      lock.unlock();
    }
  }
}
