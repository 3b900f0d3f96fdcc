package io.mmulab.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.fail;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.ExclusiveLock;
import io.mmulab.api.sync.Lockable;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.assertj.core.api.AbstractThrowableAssert;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every {@link LockRule} the core raises: the violation's type, rule and message, that the rejected
 * call changed nothing, and that the address space keeps working afterwards (docs/notifier.md,
 * invariants 37–38).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LockRulesTest {
  private static final long A_START = 0x10000;
  private static final long A_LEN = 0x10000;
  private static final long B_START = 0x40000;
  private static final long B_LEN = 0x10000;

  private final SyncRuntime rt = RealSyncRuntime.get();
  private final MmStruct mm = new MmStruct(rt);
  private final MmuNotifierSubscriptions subs = mm.notifierSubscriptions();
  private final Mutex update = rt.newMutex("driver.update");

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** Everything a rejected call must leave as it was. */
  private record State(
      long seq,
      long active,
      List<MmuIntervalNotifier> tree,
      List<MmuIntervalNotifier> deferred,
      int mmCount,
      int users) {
    static State of(MmStruct mm) {
      MmuNotifierSubscriptions s = mm.notifierSubscriptions();
      return new State(
          s.invalidateSeq(),
          s.activeInvalidateRanges(),
          s.treeMembers(),
          s.deferredMembers(),
          mm.mmCount(),
          mm.users());
    }
  }

  private void assertUnchanged(State before) {
    assertThat(State.of(mm)).isEqualTo(before);
    subs.checkConsistency();
  }

  /**
   * The invalidate-side callback: lock (try-lock if not blockable), setSeq, unlock, return true.
   */
  private static MmuIntervalNotifierOps correctOps(Mutex lock) {
    return (sub, range, curSeq) -> {
      if (range.blockable()) {
        lock.lock();
      } else if (!lock.tryLock()) {
        return false;
      }
      try {
        sub.setSeq(curSeq);
      } finally {
        lock.unlock();
      }
      return true;
    };
  }

  private MmuIntervalNotifier insertA() throws ErrnoException {
    return mm.insertIntervalNotifier(A_START, A_LEN, correctOps(update), update);
  }

  private MmuIntervalNotifier insertB() throws ErrnoException {
    return mm.insertIntervalNotifier(B_START, B_LEN, correctOps(update), update);
  }

  private MmuNotifierRange unmap(long start, long end) {
    return MmuNotifierRange.of(mm, MmuNotifierEvent.UNMAP, start, end);
  }

  private MmuNotifierRange over(MmuIntervalNotifier sub) {
    return unmap(sub.start(), sub.start() + 0x1000);
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertViolation(
      ThrowingCallable call, LockRule rule) {
    return assertViolation(catchThrowable(call), rule);
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertViolation(
      Throwable thrown, LockRule rule) {
    return assertThat(thrown)
        .isInstanceOfSatisfying(LockRuleViolation.class, v -> assertThat(v.rule()).isEqualTo(rule))
        .hasMessageStartingWith(rule.name() + ": ");
  }

  /** A correct collision-retry read: readBegin without locks, readRetry under the update lock. */
  private static void assertReadCycleSucceeds(MmuIntervalNotifier sub, Lockable lock) {
    long seq = sub.readBegin();
    assertThat(seq).isOdd();
    lockIt(lock);
    try {
      assertThat(sub.readRetry(seq)).isFalse();
    } finally {
      unlockIt(lock);
    }
  }

  private static void lockIt(Lockable lock) {
    if (lock instanceof RwSemaphore sem) {
      sem.downRead();
    } else {
      ((Mutex) lock).lock();
    }
  }

  private static void unlockIt(Lockable lock) {
    if (lock instanceof RwSemaphore sem) {
      sem.upRead();
    } else {
      ((Mutex) lock).unlock();
    }
  }

  /** A full window over {@code sub}: seq advances by 2, the sub's seq changes, reads work. */
  private void assertInvalidationCycleSucceeds(MmuIntervalNotifier sub, Lockable lock) {
    long readSeq = sub.readBegin();
    long seqBefore = subs.invalidateSeq();
    long activeBefore = subs.activeInvalidateRanges();
    MmuNotifierRange r = over(sub);
    mm.invalidateRangeStart(r);
    assertThat(subs.invalidateSeq()).isOdd();
    assertThat(subs.activeInvalidateRanges()).isEqualTo(activeBefore + 1);
    mm.invalidateRangeEnd(r);
    assertThat(subs.invalidateSeq()).isEqualTo(seqBefore + 2);
    assertThat(subs.activeInvalidateRanges()).isEqualTo(activeBefore);
    assertThat(sub.checkRetry(readSeq)).isTrue();
    subs.checkConsistency();
    assertReadCycleSucceeds(sub, lock);
  }

  private void runWindow(MmuNotifierRange r) {
    mm.invalidateRangeStart(r);
    mm.invalidateRangeEnd(r);
  }

  private static String thread() {
    return Thread.currentThread().getName();
  }

  /** A daemon thread whose result is collected with a timeout. */
  private record Async<T>(Thread thread, FutureTask<T> result) {
    static <T> Async<T> start(String name, Callable<T> body) {
      FutureTask<T> task = new FutureTask<>(body);
      Thread t = new Thread(task, name);
      t.setDaemon(true);
      t.start();
      return new Async<>(t, task);
    }

    T get() throws Exception {
      return result.get(10, TimeUnit.SECONDS);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Invariant 37: waiting for invalidations while holding a lock a callback takes

  @Test
  @DisplayName("invariant 37: readBegin holding the update lock a callback takes is rejected")
  void readBeginRejected_holdingLockTakenByCallback() throws Exception {
    MmuIntervalNotifier a = insertA();
    runWindow(over(a)); // lockdep learns that a callback of mm takes driver.update
    State before = State.of(mm);

    update.lock();
    try {
      assertViolation(a::readBegin, LockRule.READ_BEGIN_HOLDING_CALLBACK_LOCK)
          .hasMessageContainingAll(a.toString(), "driver.update", mm.name());
      assertUnchanged(before);
      assertThat(LockDep.heldLocks()).containsExactly(update);
    } finally {
      update.unlock();
    }

    assertThat(LockDep.heldLocks()).isEmpty();
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  @DisplayName(
      "invariant 37: readBegin holding a lock that another subscription's callback takes is"
          + " rejected")
  void readBeginRejected_holdingLockTakenByAnotherSubscriptionsCallback() throws Exception {
    MmuIntervalNotifier a = insertA();
    Mutex other = rt.newMutex("driver.other");
    MmuIntervalNotifier b = mm.insertIntervalNotifier(B_START, B_LEN, correctOps(other), other);
    runWindow(over(a)); // only a's callback ran: it took driver.update
    State before = State.of(mm);

    update.lock();
    try {
      assertViolation(b::readBegin, LockRule.READ_BEGIN_HOLDING_CALLBACK_LOCK)
          .hasMessageContainingAll(b.toString(), "driver.update", mm.name());
      assertUnchanged(before);
    } finally {
      update.unlock();
    }

    assertReadCycleSucceeds(b, other);
    assertInvalidationCycleSucceeds(b, other);
  }

  @Test
  @DisplayName(
      "invariant 37: holding a lock that only another address space's callbacks take does not"
          + " flag readBegin")
  void readBeginAllowed_holdingLockTakenOnlyByCallbacksOfAnotherMm() throws Exception {
    MmStruct otherMm = new MmStruct(rt);
    MmuIntervalNotifier foreign =
        otherMm.insertIntervalNotifier(A_START, A_LEN, correctOps(update), update);
    MmuNotifierRange foreignRange =
        MmuNotifierRange.of(otherMm, MmuNotifierEvent.UNMAP, A_START, A_START + 0x1000);
    otherMm.invalidateRangeStart(foreignRange);
    otherMm.invalidateRangeEnd(foreignRange);
    Mutex mine = rt.newMutex("driver.mine");
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, correctOps(mine), mine);

    update.lock();
    try {
      long seq = a.readBegin();
      assertThat(seq).isOdd();
    } finally {
      update.unlock();
    }
    assertThat(foreign.readBegin()).isOdd();
  }

  @Test
  @DisplayName("invariant 37: remove holding the update lock a callback takes is rejected")
  void removeRejected_holdingLockTakenByCallback() throws Exception {
    MmuIntervalNotifier a = insertA();
    runWindow(over(a));
    State before = State.of(mm);

    update.lock();
    try {
      assertViolation(a::remove, LockRule.REMOVE_HOLDING_CALLBACK_LOCK)
          .hasMessageContainingAll(a.toString(), "driver.update", mm.name());
      assertUnchanged(before);
    } finally {
      update.unlock();
    }

    // The rejected remove did not count: the subscription is still live and removable once.
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
    a.remove();
    assertThat(subs.treeMembers()).isEmpty();
    assertThat(mm.mmCount()).isEqualTo(before.mmCount() - 1);
    subs.checkConsistency();
  }

  @Test
  @DisplayName(
      "invariant 37: a callback taking a lock that was held across readBegin is rejected (reverse"
          + " order)")
  void callbackLockRejected_whenLockWasHeldAcrossReadBegin() throws Exception {
    Mutex pages = rt.newMutex("driver.pages");
    AtomicReference<Throwable> caught = new AtomicReference<>();
    AtomicReference<State> inBefore = new AtomicReference<>();
    AtomicReference<State> inAfter = new AtomicReference<>();
    AtomicReference<List<Lockable>> heldAfter = new AtomicReference<>();
    MmuIntervalNotifierOps ops =
        (sub, range, curSeq) -> {
          if (caught.get() == null) {
            inBefore.set(State.of(mm));
            try {
              pages.lock();
              pages.unlock();
            } catch (LockRuleViolation v) {
              caught.set(v);
            }
            inAfter.set(State.of(mm));
            heldAfter.set(LockDep.heldLocks());
          }
          return correctOps(update).invalidate(sub, range, curSeq);
        };
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, ops, update);

    pages.lock();
    try {
      a.readBegin(); // allowed: no callback has taken driver.pages yet; recorded as held
    } finally {
      pages.unlock();
    }
    State before = State.of(mm);
    MmuNotifierRange r = over(a);
    mm.invalidateRangeStart(r);
    mm.invalidateRangeEnd(r);

    assertViolation(caught.get(), LockRule.CALLBACK_TAKES_LOCK_HELD_ACROSS_WAIT)
        .hasMessageContainingAll("driver.pages", mm.name());
    assertThat(inAfter.get()).isEqualTo(inBefore.get());
    assertThat(heldAfter.get()).isEmpty();
    assertThat(pages.isHeldByCurrentThread()).isFalse();
    assertThat(subs.invalidateSeq()).isEqualTo(before.seq() + 2);
    assertThat(subs.activeInvalidateRanges()).isEqualTo(before.active());
    assertThat(subs.treeMembers()).isEqualTo(before.tree());
    assertThat(mm.mmCount()).isEqualTo(before.mmCount());
    subs.checkConsistency();
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  @DisplayName(
      "invariant 37: a callback taking a lock held across remove is rejected; the violation"
          + " reaches the caller from the end, after the window is closed")
  void callbackLockViolationPropagates_whenLockWasHeldAcrossRemove() throws Exception {
    Mutex pages = rt.newMutex("driver.pages");
    AtomicBoolean takePages = new AtomicBoolean(true);
    MmuIntervalNotifierOps ops =
        (sub, range, curSeq) -> {
          if (takePages.get()) {
            pages.lock();
            pages.unlock();
          }
          return correctOps(update).invalidate(sub, range, curSeq);
        };
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, ops, update);
    MmuIntervalNotifier b = insertB();
    pages.lock();
    try {
      b.remove(); // allowed; records driver.pages as held while waiting for invalidations
    } finally {
      pages.unlock();
    }
    State before = State.of(mm);
    MmuNotifierRange r = over(a);

    // A callback cannot fail the start: the violation comes from the end, once the window closed.
    mm.invalidateRangeStart(r);
    assertViolation(() -> mm.invalidateRangeEnd(r), LockRule.CALLBACK_TAKES_LOCK_HELD_ACROSS_WAIT)
        .hasMessageContainingAll("driver.pages", mm.name());

    assertThat(subs.activeInvalidateRanges()).isEqualTo(before.active());
    assertThat(subs.invalidateSeq()).isEqualTo(before.seq() + 2);
    assertThat(subs.treeMembers()).isEqualTo(before.tree()).containsExactly(a);
    assertThat(subs.deferredMembers()).isEmpty();
    assertThat(mm.mmCount()).isEqualTo(before.mmCount());
    assertThat(LockDep.heldLocks()).isEmpty();
    subs.checkConsistency();
    // The window was ended once: there is nothing more to end.
    assertViolation(() -> mm.invalidateRangeEnd(r), LockRule.END_WITHOUT_START);

    takePages.set(false);
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  @DisplayName("invariant 37: readBegin from inside a callback is rejected")
  void readBeginRejected_insideCallback() throws Exception {
    AtomicReference<MmuIntervalNotifier> target = new AtomicReference<>();
    AtomicReference<Throwable> caught = new AtomicReference<>();
    AtomicReference<State> inBefore = new AtomicReference<>();
    AtomicReference<State> inAfter = new AtomicReference<>();
    AtomicReference<MmuNotifierRange> seenRange = new AtomicReference<>();
    MmuIntervalNotifierOps ops =
        (sub, range, curSeq) -> {
          if (target.get() != null && caught.get() == null) {
            seenRange.set(range);
            inBefore.set(State.of(mm));
            caught.set(catchThrowable(() -> target.get().readBegin()));
            inAfter.set(State.of(mm));
          }
          return correctOps(update).invalidate(sub, range, curSeq);
        };
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, ops, update);
    MmuIntervalNotifier b = insertB();
    target.set(b);
    State before = State.of(mm);

    runWindow(over(a));

    assertViolation(caught.get(), LockRule.READ_BEGIN_IN_CALLBACK)
        .hasMessageContainingAll(b.toString(), a.toString(), seenRange.get().toString());
    assertThat(inAfter.get()).isEqualTo(inBefore.get());
    assertThat(subs.invalidateSeq()).isEqualTo(before.seq() + 2);
    assertThat(subs.activeInvalidateRanges()).isZero();
    assertThat(subs.treeMembers()).isEqualTo(before.tree());
    assertThat(mm.mmCount()).isEqualTo(before.mmCount());
    subs.checkConsistency();
    target.set(null);
    assertReadCycleSucceeds(b, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  @DisplayName("invariant 37: remove from inside a callback is rejected and does not count")
  void removeRejected_insideCallback() throws Exception {
    AtomicReference<Throwable> caught = new AtomicReference<>();
    AtomicReference<State> inBefore = new AtomicReference<>();
    AtomicReference<State> inAfter = new AtomicReference<>();
    MmuIntervalNotifierOps ops =
        (sub, range, curSeq) -> {
          if (caught.get() == null) {
            inBefore.set(State.of(mm));
            caught.set(catchThrowable(sub::remove));
            inAfter.set(State.of(mm));
          }
          return correctOps(update).invalidate(sub, range, curSeq);
        };
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, ops, update);
    State before = State.of(mm);

    runWindow(over(a));

    assertViolation(caught.get(), LockRule.REMOVE_IN_CALLBACK)
        .hasMessageContainingAll(a.toString(), "0x" + Long.toHexString(A_START));
    assertThat(inAfter.get()).isEqualTo(inBefore.get());
    assertThat(inAfter.get().deferred()).isEmpty();
    assertThat(subs.treeMembers()).containsExactly(a);
    assertThat(subs.invalidateSeq()).isEqualTo(before.seq() + 2);
    assertThat(mm.mmCount()).isEqualTo(before.mmCount());
    subs.checkConsistency();
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
    a.remove(); // the rejected remove did not count: this is not a DOUBLE_REMOVE
    assertThat(subs.treeMembers()).isEmpty();
    assertThat(mm.mmCount()).isEqualTo(before.mmCount() - 1);
  }

  // ---------------------------------------------------------------------------------------------
  // Invariant 38: readRetry and setSeq under the update lock

  @Test
  @DisplayName("invariant 38: readRetry without the declared update lock (held by nobody)")
  void readRetryRejected_declaredUpdateLockNotHeld() throws Exception {
    MmuIntervalNotifier a = insertA();
    long seq = a.readBegin();
    State before = State.of(mm);

    assertViolation(() -> a.readRetry(seq), LockRule.READ_RETRY_WITHOUT_UPDATE_LOCK)
        .hasMessageContainingAll(a.toString(), "driver.update");

    assertUnchanged(before);
    assertThat(a.checkRetry(seq)).isFalse();
    update.lock();
    try {
      assertThat(a.readRetry(seq)).isFalse();
    } finally {
      update.unlock();
    }
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  @DisplayName("invariant 38: readRetry holding a different lock than the declared update lock")
  void readRetryRejected_differentLockHeld() throws Exception {
    MmuIntervalNotifier a = insertA();
    Mutex other = rt.newMutex("driver.other");
    long seq = a.readBegin();
    State before = State.of(mm);

    other.lock();
    try {
      assertViolation(() -> a.readRetry(seq), LockRule.READ_RETRY_WITHOUT_UPDATE_LOCK)
          .hasMessageContainingAll(a.toString(), "driver.update");
      assertUnchanged(before);
      assertThat(LockDep.heldLocks()).containsExactly(other);
    } finally {
      other.unlock();
    }
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  @DisplayName("invariant 38: readRetry with no declared update lock and no lock held")
  void readRetryRejected_noDeclaredLockAndNoLockHeld() throws Exception {
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, correctOps(update));
    long seq = a.readBegin();
    State before = State.of(mm);

    assertViolation(() -> a.readRetry(seq), LockRule.READ_RETRY_WITHOUT_UPDATE_LOCK)
        .hasMessageContainingAll(a.toString(), "any lock");

    assertUnchanged(before);
    // Without a declared lock, any held lock satisfies the check.
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  @DisplayName("invariant 38: readRetry under a read-held rw-semaphore declared as update lock")
  void readRetryPasses_underReadHeldRwSemaphoreUpdateLock() throws Exception {
    RwSemaphore notifierLock = rt.newRwSemaphore("driver.notifier_lock");
    MmuIntervalNotifierOps ops =
        (sub, range, curSeq) -> {
          notifierLock.downWrite();
          try {
            sub.setSeq(curSeq);
          } finally {
            notifierLock.upWrite();
          }
          return true;
        };
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, ops, notifierLock);
    long seq = a.readBegin();

    notifierLock.downRead();
    try {
      assertThat(a.readRetry(seq)).isFalse();
    } finally {
      notifierLock.upRead();
    }
    notifierLock.downWrite();
    try {
      assertThat(a.readRetry(seq)).isFalse();
    } finally {
      notifierLock.upWrite();
    }
    runWindow(over(a));
    notifierLock.downRead();
    try {
      assertThat(a.readRetry(seq)).isTrue(); // the collision is reported
    } finally {
      notifierLock.upRead();
    }
    assertReadCycleSucceeds(a, notifierLock);
    subs.checkConsistency();
  }

  @Test
  @DisplayName("invariant 38: setSeq in the callback without the update lock")
  void setSeqRejected_withoutUpdateLock() throws Exception {
    AtomicReference<Throwable> caught = new AtomicReference<>();
    AtomicReference<State> inBefore = new AtomicReference<>();
    AtomicReference<State> inAfter = new AtomicReference<>();
    AtomicReference<Boolean> collisionVisibleAfterViolation = new AtomicReference<>();
    long[] readSeq = new long[1];
    MmuIntervalNotifierOps ops =
        (sub, range, curSeq) -> {
          if (caught.get() == null) {
            inBefore.set(State.of(mm));
            caught.set(catchThrowable(() -> sub.setSeq(curSeq)));
            inAfter.set(State.of(mm));
            collisionVisibleAfterViolation.set(sub.checkRetry(readSeq[0]));
          }
          return correctOps(update).invalidate(sub, range, curSeq);
        };
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, ops, update);
    readSeq[0] = a.readBegin();
    State before = State.of(mm);

    runWindow(over(a));

    assertViolation(caught.get(), LockRule.SET_SEQ_WITHOUT_UPDATE_LOCK)
        .hasMessageContainingAll(a.toString(), "driver.update");
    assertThat(inAfter.get()).isEqualTo(inBefore.get());
    assertThat(collisionVisibleAfterViolation.get())
        .as("the rejected setSeq must not have stored its value")
        .isFalse();
    assertThat(a.checkRetry(readSeq[0])).isTrue(); // the correct setSeq afterwards did
    assertThat(subs.invalidateSeq()).isEqualTo(before.seq() + 2);
    subs.checkConsistency();
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  @DisplayName("invariant 38: setSeq in the callback with no declared lock and no lock held")
  void setSeqRejected_noDeclaredLockAndNoLockHeld() throws Exception {
    AtomicReference<Throwable> caught = new AtomicReference<>();
    long[] readSeq = new long[1];
    AtomicReference<Boolean> collisionVisibleAfterViolation = new AtomicReference<>();
    MmuIntervalNotifierOps ops =
        (sub, range, curSeq) -> {
          if (caught.get() == null) {
            caught.set(catchThrowable(() -> sub.setSeq(curSeq)));
            collisionVisibleAfterViolation.set(sub.checkRetry(readSeq[0]));
          }
          return correctOps(update).invalidate(sub, range, curSeq);
        };
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, ops);
    readSeq[0] = a.readBegin();

    runWindow(over(a));

    assertViolation(caught.get(), LockRule.SET_SEQ_WITHOUT_UPDATE_LOCK)
        .hasMessageContainingAll(a.toString(), "any lock");
    assertThat(collisionVisibleAfterViolation.get()).isFalse();
    assertThat(a.checkRetry(readSeq[0])).isTrue();
    subs.checkConsistency();
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  @DisplayName("invariant 38: setSeq outside any callback is rejected")
  void setSeqRejected_outsideCallback() throws Exception {
    MmuIntervalNotifier a = insertA();
    long seq = a.readBegin();
    State before = State.of(mm);

    update.lock();
    try {
      assertViolation(() -> a.setSeq(seq), LockRule.SET_SEQ_OUTSIDE_CALLBACK)
          .hasMessageContainingAll(a.toString(), Long.toString(seq));
      assertViolation(() -> a.setSeq(subs.invalidateSeq() + 1), LockRule.SET_SEQ_OUTSIDE_CALLBACK)
          .hasMessageContaining(a.toString());
      assertUnchanged(before);
      assertThat(a.readRetry(seq)).isFalse();
    } finally {
      update.unlock();
    }
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  @DisplayName("invariant 38: setSeq on another subscription from inside a callback is rejected")
  void setSeqRejected_inCallbackOfAnotherSubscription() throws Exception {
    AtomicReference<MmuIntervalNotifier> victim = new AtomicReference<>();
    AtomicReference<Throwable> caught = new AtomicReference<>();
    MmuIntervalNotifierOps ops =
        (sub, range, curSeq) -> {
          MmuIntervalNotifier v = victim.get();
          if (v != null && caught.get() == null) {
            update.lock();
            try {
              caught.set(catchThrowable(() -> v.setSeq(curSeq)));
            } finally {
              update.unlock();
            }
          }
          return correctOps(update).invalidate(sub, range, curSeq);
        };
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, ops, update);
    MmuIntervalNotifier b = insertB();
    long bSeq = b.readBegin();
    victim.set(b);

    runWindow(over(a)); // hits only a

    assertViolation(caught.get(), LockRule.SET_SEQ_OUTSIDE_CALLBACK)
        .hasMessageContaining(b.toString());
    assertThat(b.checkRetry(bSeq)).isFalse();
    subs.checkConsistency();
    victim.set(null);
    assertReadCycleSucceeds(b, update);
    assertInvalidationCycleSucceeds(b, update);
  }

  @Test
  @DisplayName("invariant 38: setSeq with a value other than the callback's curSeq is rejected")
  void setSeqRejected_wrongValue() throws Exception {
    AtomicReference<Throwable> caught = new AtomicReference<>();
    AtomicReference<State> inBefore = new AtomicReference<>();
    AtomicReference<State> inAfter = new AtomicReference<>();
    long[] given = new long[2];
    long[] readSeq = new long[1];
    AtomicReference<Boolean> collisionVisibleAfterViolation = new AtomicReference<>();
    MmuIntervalNotifierOps ops =
        (sub, range, curSeq) -> {
          if (caught.get() == null) {
            given[0] = curSeq;
            given[1] = curSeq + 2;
            update.lock();
            try {
              inBefore.set(State.of(mm));
              caught.set(catchThrowable(() -> sub.setSeq(curSeq + 2)));
              inAfter.set(State.of(mm));
              collisionVisibleAfterViolation.set(sub.checkRetry(readSeq[0]));
            } finally {
              update.unlock();
            }
          }
          return correctOps(update).invalidate(sub, range, curSeq);
        };
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, ops, update);
    readSeq[0] = a.readBegin();

    runWindow(over(a));

    assertViolation(caught.get(), LockRule.SET_SEQ_WRONG_VALUE)
        .hasMessageContainingAll(
            a.toString(), "setSeq(" + given[1] + ")", "curSeq " + Long.toString(given[0]));
    assertThat(inAfter.get()).isEqualTo(inBefore.get());
    assertThat(collisionVisibleAfterViolation.get()).isFalse();
    assertThat(a.checkRetry(readSeq[0])).isTrue();
    subs.checkConsistency();
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  // ---------------------------------------------------------------------------------------------
  // Pairing of start and end

  @Test
  void endRejected_afterFailedNonblockStart() throws Exception {
    MmuIntervalNotifierOps declinesNonblock =
        (sub, range, curSeq) ->
            range.blockable() && correctOps(update).invalidate(sub, range, curSeq);
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, declinesNonblock, update);
    MmuNotifierRange r =
        new MmuNotifierRange(mm, A_START, A_START + 0x1000, MmuNotifierEvent.UNMAP, false, null);
    State before = State.of(mm);

    assertThatThrownBy(() -> mm.invalidateRangeStartNonblock(r))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EAGAIN));
    State afterFailedStart = State.of(mm);
    assertThat(afterFailedStart.active()).isEqualTo(before.active());
    assertThat(afterFailedStart.seq()).isEqualTo(before.seq() + 2);

    assertViolation(() -> mm.invalidateRangeEnd(r), LockRule.END_AFTER_FAILED_NONBLOCK_START)
        .hasMessageContainingAll(
            "0x" + Long.toHexString(A_START), "0x" + Long.toHexString(A_START + 0x1000));
    assertUnchanged(afterFailedStart);

    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void endRejectedAsWithoutStart_whenTheFailedNonblockStartWasFollowedByACompleteWindow()
      throws Exception {
    MmuIntervalNotifierOps declinesNonblock =
        (sub, range, curSeq) ->
            range.blockable() && correctOps(update).invalidate(sub, range, curSeq);
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, declinesNonblock, update);
    MmuNotifierRange r = over(a);
    assertThatThrownBy(() -> mm.invalidateRangeStartNonblock(r)).isInstanceOf(ErrnoException.class);
    // The invalidator retries with a blocking start and ends it: the failure is history.
    mm.invalidateRangeStart(r);
    mm.invalidateRangeEnd(r);
    State before = State.of(mm);

    assertViolation(() -> mm.invalidateRangeEnd(r), LockRule.END_WITHOUT_START)
        .hasMessageContainingAll(thread(), r.toString(), mm.name());

    assertUnchanged(before);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void endRejected_withoutStart() throws Exception {
    MmuIntervalNotifier a = insertA();
    MmuNotifierRange r = over(a);
    State before = State.of(mm);

    assertViolation(() -> mm.invalidateRangeEnd(r), LockRule.END_WITHOUT_START)
        .hasMessageContainingAll(thread(), r.toString(), mm.name());

    assertUnchanged(before);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void endRejected_forAnotherRangeWhileAWindowIsOpen() throws Exception {
    MmuIntervalNotifier a = insertA();
    MmuNotifierRange open = over(a);
    MmuNotifierRange other = unmap(A_START, A_START + 0x2000);
    mm.invalidateRangeStart(open);
    State during = State.of(mm);
    assertThat(during.seq()).isOdd();

    assertViolation(() -> mm.invalidateRangeEnd(other), LockRule.END_WITHOUT_START)
        .hasMessageContainingAll(thread(), other.toString(), mm.name());

    assertUnchanged(during);
    mm.invalidateRangeEnd(open);
    assertThat(subs.invalidateSeq()).isEqualTo(during.seq() + 1).isEven();
    assertThat(subs.activeInvalidateRanges()).isZero();
    subs.checkConsistency();
    assertReadCycleSucceeds(a, update);
  }

  @Test
  void endRejected_onAnotherThreadThanTheStart() throws Exception {
    MmuIntervalNotifier a = insertA();
    MmuNotifierRange r = over(a);
    mm.invalidateRangeStart(r);
    State during = State.of(mm);

    Async<Throwable> ender =
        Async.start("other-ender", () -> catchThrowable(() -> mm.invalidateRangeEnd(r)));

    assertViolation(ender.get(), LockRule.END_WITHOUT_START)
        .hasMessageContainingAll("other-ender", r.toString(), mm.name());
    assertUnchanged(during);
    mm.invalidateRangeEnd(r);
    assertThat(subs.activeInvalidateRanges()).isZero();
    subs.checkConsistency();
    assertInvalidationCycleSucceeds(a, update);
  }

  // ---------------------------------------------------------------------------------------------
  // Lifetime

  @Test
  void removeRejected_secondTime() throws Exception {
    MmuIntervalNotifier a = insertA();
    MmuIntervalNotifier b = insertB();
    int countBefore = mm.mmCount();
    a.remove();
    assertThat(mm.mmCount()).isEqualTo(countBefore - 1);
    State before = State.of(mm);

    assertViolation(a::remove, LockRule.DOUBLE_REMOVE).hasMessageContaining(a.toString());

    assertUnchanged(before);
    assertThat(subs.treeMembers()).containsExactly(b);
    assertInvalidationCycleSucceeds(b, update);
  }

  @Test
  void removeRejected_secondTimeWithinTheWindowThatDeferredTheInsert() throws Exception {
    MmuIntervalNotifier a = insertA();
    MmuNotifierRange r = over(a);
    mm.invalidateRangeStart(r);
    MmuIntervalNotifier c = insertB(); // seq odd: deferred
    assertThat(subs.deferredMembers()).containsExactly(c);
    c.remove(); // never entered the tree: unlinked, no wait
    State before = State.of(mm);
    assertThat(before.deferred()).isEmpty();

    assertViolation(c::remove, LockRule.DOUBLE_REMOVE).hasMessageContaining(c.toString());

    assertUnchanged(before);
    mm.invalidateRangeEnd(r);
    assertThat(subs.treeMembers()).containsExactly(a);
    assertThat(subs.deferredMembers()).isEmpty();
    assertThat(mm.mmCount()).isEqualTo(2);
    subs.checkConsistency();
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void readBeginRejected_afterRemove() throws Exception {
    MmuIntervalNotifier a = insertA();
    MmuIntervalNotifier b = insertB();
    a.remove();
    State before = State.of(mm);

    assertViolation(a::readBegin, LockRule.USE_AFTER_REMOVE).hasMessageContaining(a.toString());

    assertUnchanged(before);
    assertReadCycleSucceeds(b, update);
    assertInvalidationCycleSucceeds(b, update);
  }

  @Test
  @DisplayName("readRetry under the update lock on a removed subscription never says no retry")
  void readRetryRejected_afterRemove() throws Exception {
    MmuIntervalNotifier a = insertA();
    MmuIntervalNotifier b = insertB();
    long seq = a.readBegin();
    a.remove();
    State before = State.of(mm);

    update.lock();
    try {
      assertViolation(() -> a.readRetry(seq), LockRule.USE_AFTER_REMOVE)
          .hasMessageContainingAll("readRetry", a.toString());
      assertUnchanged(before);
      assertThat(LockDep.heldLocks()).containsExactly(update);
    } finally {
      update.unlock();
    }
    assertReadCycleSucceeds(b, update);
    assertInvalidationCycleSucceeds(b, update);
  }

  // ---------------------------------------------------------------------------------------------
  // Insert and the mmap lock

  @ParameterizedTest(name = "mmap lock held for {0}")
  @ValueSource(strings = {"read", "write"})
  void insertRejected_holdingMmapLock(String mode) throws Exception {
    MmuIntervalNotifier a = insertA();
    RwSemaphore mmap = mm.mmapLock();
    State before = State.of(mm);

    if (mode.equals("read")) {
      mmap.downRead();
    } else {
      mmap.downWrite();
    }
    try {
      assertViolation(
              () -> mm.insertIntervalNotifier(B_START, B_LEN, correctOps(update), update),
              LockRule.INSERT_HOLDING_MMAP_LOCK)
          .hasMessageContainingAll(mm.name(), mmap.name());
      assertViolation(
              () -> mm.insertIntervalNotifier(B_START, B_LEN, correctOps(update)),
              LockRule.INSERT_HOLDING_MMAP_LOCK)
          .hasMessageContainingAll(mm.name(), mmap.name());
      assertUnchanged(before);
    } finally {
      if (mode.equals("read")) {
        mmap.upRead();
      } else {
        mmap.upWrite();
      }
    }

    MmuIntervalNotifier b = insertB();
    assertThat(subs.treeMembers()).containsExactly(a, b);
    assertThat(mm.mmCount()).isEqualTo(before.mmCount() + 1);
    assertInvalidationCycleSucceeds(b, update);
  }

  @ParameterizedTest(name = "mmap lock {0}")
  @ValueSource(strings = {"not held", "held for read"})
  void insertLockedRejected_withoutMmapWriteLock(String mode) throws Exception {
    MmuIntervalNotifier a = insertA();
    RwSemaphore mmap = mm.mmapLock();
    State before = State.of(mm);
    boolean read = mode.equals("held for read");

    if (read) {
      mmap.downRead();
    }
    try {
      assertViolation(
              () -> mm.insertIntervalNotifierLocked(B_START, B_LEN, correctOps(update), update),
              LockRule.INSERT_LOCKED_WITHOUT_MMAP_WRITE_LOCK)
          .hasMessageContainingAll(mm.name(), mmap.name());
      assertUnchanged(before);
    } finally {
      if (read) {
        mmap.upRead();
      }
    }
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void insertLocked_withMmapWriteLockHeld_works() throws Exception {
    RwSemaphore mmap = mm.mmapLock();
    State before = State.of(mm);
    MmuIntervalNotifier a;

    mmap.downWrite();
    try {
      a = mm.insertIntervalNotifierLocked(A_START, A_LEN, correctOps(update), update);
      assertThat(mmap.isWriteHeldByCurrentThread()).isTrue();
    } finally {
      mmap.upWrite();
    }

    assertThat(a.start()).isEqualTo(A_START);
    assertThat(a.last()).isEqualTo(A_START + A_LEN - 1);
    assertThat(subs.treeMembers()).containsExactly(a);
    assertThat(mm.mmCount()).isEqualTo(before.mmCount() + 1);
    subs.checkConsistency();
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
    a.remove();
    assertThat(mm.mmCount()).isEqualTo(before.mmCount());
  }

  // ---------------------------------------------------------------------------------------------
  // Sleeping where it is not allowed

  @Test
  void mutexLockRejected_inCallbackForNonblockableRange_reportedByTheEnd() throws Exception {
    AtomicBoolean badDriver = new AtomicBoolean(true);
    MmuIntervalNotifierOps ops =
        (sub, range, curSeq) -> {
          if (badDriver.get()) {
            update.lock(); // wrong for a non-blockable range: must try-lock
            try {
              sub.setSeq(curSeq);
            } finally {
              update.unlock();
            }
            return true;
          }
          return correctOps(update).invalidate(sub, range, curSeq);
        };
    MmuIntervalNotifier a = mm.insertIntervalNotifier(A_START, A_LEN, ops, update);
    long readSeq = a.readBegin();
    MmuNotifierRange r = over(a);
    State before = State.of(mm);

    // Not a refusal: the start succeeds and the end reports the violation after closing.
    mm.invalidateRangeStartNonblock(r);
    Throwable thrown = catchThrowable(() -> mm.invalidateRangeEnd(r));

    assertViolation(thrown, LockRule.SLEEP_IN_NONBLOCKABLE_CALLBACK)
        .hasMessageContainingAll(
            a.toString(), r.withBlockable(false).toString(), "nonblock", "driver.update");
    assertThat(subs.activeInvalidateRanges()).isEqualTo(before.active());
    assertThat(subs.invalidateSeq()).isEqualTo(before.seq() + 2);
    assertThat(subs.treeMembers()).isEqualTo(before.tree());
    assertThat(subs.deferredMembers()).isEmpty();
    assertThat(mm.mmCount()).isEqualTo(before.mmCount());
    subs.checkConsistency();
    assertThat(update.isHeldByCurrentThread()).isFalse();
    assertThat(LockDep.heldLocks()).isEmpty();
    assertThat(a.checkRetry(readSeq)).as("setSeq was never reached").isFalse();
    // The window was ended once: there is nothing more to end.
    assertViolation(() -> mm.invalidateRangeEnd(r), LockRule.END_WITHOUT_START);

    badDriver.set(false);
    mm.invalidateRangeStartNonblock(r);
    mm.invalidateRangeEnd(r);
    assertThat(a.checkRetry(readSeq)).isTrue();
    assertThat(subs.invalidateSeq()).isEqualTo(before.seq() + 4);
    subs.checkConsistency();
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void mutexLockRejected_whileHoldingSpinLock() throws Exception {
    MmuIntervalNotifier a = insertA();
    SpinLock spin = rt.newSpinLock("driver.spin");
    State before = State.of(mm);

    spin.lock();
    try {
      assertViolation(update::lock, LockRule.SLEEP_WHILE_ATOMIC)
          .hasMessageContainingAll(thread(), "driver.update", "driver.spin");
      assertThat(update.isHeldByCurrentThread()).isFalse();
      assertThat(LockDep.heldLocks()).containsExactly(spin);
      // A try-lock never sleeps, so it is allowed under a spin lock.
      assertThat(update.tryLock()).isTrue();
      update.unlock();
    } finally {
      spin.unlock();
    }

    assertUnchanged(before);
    assertThat(LockDep.heldLocks()).isEmpty();
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void readBeginOnBusySubscriptionRejected_whileHoldingSpinLock() throws Exception {
    MmuIntervalNotifier a = insertA();
    SpinLock spin = rt.newSpinLock("driver.spin");
    MmuNotifierRange r = over(a);
    mm.invalidateRangeStart(r); // a's callback ran: readBegin on a would sleep
    State during = State.of(mm);

    spin.lock();
    try {
      assertViolation(a::readBegin, LockRule.SLEEP_WHILE_ATOMIC)
          .hasMessageContainingAll(thread(), "driver.spin");
      assertUnchanged(during);
    } finally {
      spin.unlock();
    }
    mm.invalidateRangeEnd(r);
    subs.checkConsistency();
    assertReadCycleSucceeds(a, update);
  }

  // ---------------------------------------------------------------------------------------------
  // Plain lock misuse

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"mutex", "spin"})
  void lockRejected_whenAlreadyHeldByTheSameThread(String kind) throws Exception {
    MmuIntervalNotifier a = insertA();
    State before = State.of(mm);
    ExclusiveLock lock =
        kind.equals("mutex") ? rt.newMutex("driver.lock") : rt.newSpinLock("driver.lock");

    lock.lock();
    try {
      assertViolation(lock::lock, LockRule.RECURSIVE_LOCK)
          .hasMessageContainingAll(thread(), "driver.lock");
      assertThat(LockDep.heldLocks()).containsExactly(lock);
      assertThat(lock.isHeldByCurrentThread()).isTrue();
    } finally {
      lock.unlock();
    }

    // Held exactly once: one unlock released it.
    assertThat(lock.isHeldByCurrentThread()).isFalse();
    assertThat(LockDep.heldLocks()).isEmpty();
    lock.lock();
    lock.unlock();
    assertUnchanged(before);
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void rwSemaphoreAcquireRejected_whenAlreadyHeldInEitherMode() throws Exception {
    MmuIntervalNotifier a = insertA();
    RwSemaphore sem = rt.newRwSemaphore("driver.sem");
    State before = State.of(mm);

    sem.downRead();
    try {
      assertViolation(sem::downRead, LockRule.RECURSIVE_LOCK)
          .hasMessageContainingAll(thread(), "driver.sem");
      assertViolation(sem::downWrite, LockRule.RECURSIVE_LOCK)
          .hasMessageContainingAll(thread(), "driver.sem");
      assertThat(sem.isReadHeldByCurrentThread()).isTrue();
      assertThat(LockDep.heldLocks()).containsExactly(sem);
    } finally {
      sem.upRead();
    }
    assertThat(sem.isHeldByCurrentThread()).isFalse();

    sem.downWrite();
    try {
      assertViolation(sem::downRead, LockRule.RECURSIVE_LOCK).hasMessageContaining("driver.sem");
      assertViolation(sem::downWrite, LockRule.RECURSIVE_LOCK).hasMessageContaining("driver.sem");
      assertThat(sem.isWriteHeldByCurrentThread()).isTrue();
      assertThat(sem.isReadHeldByCurrentThread()).isFalse();
      assertThat(LockDep.heldLocks()).containsExactly(sem);
    } finally {
      sem.upWrite();
    }
    assertThat(sem.isHeldByCurrentThread()).isFalse();
    assertThat(LockDep.heldLocks()).isEmpty();
    assertUnchanged(before);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void tryLockOfHeldLock_returnsFalseWithoutViolation() throws Exception {
    MmuIntervalNotifier a = insertA();
    SpinLock spin = rt.newSpinLock("driver.spin");
    RwSemaphore sem = rt.newRwSemaphore("driver.sem");

    update.lock();
    try {
      assertThat(update.tryLock()).isFalse();
      assertThat(LockDep.heldLocks()).containsExactly(update);
    } finally {
      update.unlock();
    }
    assertThat(update.isHeldByCurrentThread()).isFalse();

    spin.lock();
    try {
      assertThat(spin.tryLock()).isFalse();
    } finally {
      spin.unlock();
    }
    assertThat(spin.isHeldByCurrentThread()).isFalse();

    sem.downRead();
    try {
      assertThat(sem.downReadTrylock()).isFalse();
      assertThat(sem.downWriteTrylock()).isFalse();
      assertThat(LockDep.heldLocks()).containsExactly(sem);
    } finally {
      sem.upRead();
    }
    sem.downWrite();
    try {
      assertThat(sem.downReadTrylock()).isFalse();
      assertThat(sem.downWriteTrylock()).isFalse();
    } finally {
      sem.upWrite();
    }
    assertThat(sem.isHeldByCurrentThread()).isFalse();
    assertThat(LockDep.heldLocks()).isEmpty();
    subs.checkConsistency();
    assertInvalidationCycleSucceeds(a, update);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"mutex", "spin"})
  void unlockRejected_whenNotHeld(String kind) throws Exception {
    MmuIntervalNotifier a = insertA();
    State before = State.of(mm);
    ExclusiveLock lock =
        kind.equals("mutex") ? rt.newMutex("driver.lock") : rt.newSpinLock("driver.lock");

    assertViolation(lock::unlock, LockRule.UNLOCK_NOT_HELD)
        .hasMessageContainingAll(thread(), "driver.lock");

    assertThat(LockDep.heldLocks()).isEmpty();
    lock.lock();
    lock.unlock();
    assertThat(lock.isHeldByCurrentThread()).isFalse();
    assertUnchanged(before);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void unlockRejected_whenHeldByAnotherThread() throws Exception {
    MmuIntervalNotifier a = insertA();
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Async<Void> owner =
        Async.start(
            "update-owner",
            () -> {
              update.lock();
              try {
                held.countDown();
                if (!release.await(10, TimeUnit.SECONDS)) {
                  fail("never told to release");
                }
              } finally {
                update.unlock();
              }
              return null;
            });
    try {
      assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();

      assertViolation(update::unlock, LockRule.UNLOCK_NOT_HELD)
          .hasMessageContainingAll(thread(), "driver.update");
      assertThat(update.tryLock()).as("still held by the other thread").isFalse();
      assertThat(LockDep.heldLocks()).isEmpty();
    } finally {
      release.countDown();
    }
    owner.get();
    assertReadCycleSucceeds(a, update);
    assertInvalidationCycleSucceeds(a, update);
  }

  @Test
  void rwSemaphoreReleaseRejected_inTheWrongMode() throws Exception {
    MmuIntervalNotifier a = insertA();
    RwSemaphore sem = rt.newRwSemaphore("driver.sem");
    State before = State.of(mm);

    assertViolation(sem::upRead, LockRule.UNLOCK_NOT_HELD)
        .hasMessageContainingAll(thread(), "upRead", "driver.sem");
    assertViolation(sem::upWrite, LockRule.UNLOCK_NOT_HELD)
        .hasMessageContainingAll(thread(), "upWrite", "driver.sem");
    assertThat(LockDep.heldLocks()).isEmpty();

    sem.downRead();
    try {
      assertViolation(sem::upWrite, LockRule.UNLOCK_NOT_HELD)
          .hasMessageContainingAll("upWrite", "driver.sem");
      assertThat(sem.isReadHeldByCurrentThread()).isTrue();
      assertThat(LockDep.heldLocks()).containsExactly(sem);
    } finally {
      sem.upRead();
    }
    assertThat(sem.isHeldByCurrentThread()).isFalse();

    sem.downWrite();
    try {
      assertViolation(sem::upRead, LockRule.UNLOCK_NOT_HELD)
          .hasMessageContainingAll("upRead", "driver.sem");
      assertThat(sem.isWriteHeldByCurrentThread()).isTrue();
      assertThat(LockDep.heldLocks()).containsExactly(sem);
    } finally {
      sem.upWrite();
    }
    assertThat(sem.isHeldByCurrentThread()).isFalse();
    assertThat(LockDep.heldLocks()).isEmpty();
    assertUnchanged(before);
    assertInvalidationCycleSucceeds(a, update);
  }
}
