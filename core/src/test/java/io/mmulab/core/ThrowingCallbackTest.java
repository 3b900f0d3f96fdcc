package io.mmulab.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.fail;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.argThat;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.ArgumentMatchers.same;
import static org.mockito.Mockito.doNothing;
import static org.mockito.Mockito.doReturn;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoMoreInteractions;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.core.sync.RealSyncRuntime;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mockito.InOrder;

/**
 * Callbacks that throw instead of returning (docs/notifier.md, "A callback that throws"): a
 * callback cannot fail an invalidation. The start calls every other subscriber and returns with the
 * window open, so the memory manager completes its change; the matching end closes the window
 * (sleepers woken, deferred changes applied), ends every classic notifier and then rethrows the
 * throwable unchanged, later ones suppressed; the address space keeps working.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ThrowingCallbackTest {
  private static final long PAGE = 0x1000;
  private static final long A_START = 0x10000;
  private static final long B_START = 0x40000;
  private static final long C_START = 0x80000;
  private static final long D_START = 0xC0000;
  private static final long LEN = 0x10000;
  private static final long WAIT_SECONDS = 10;

  private final MmStruct mm = new MmStruct(RealSyncRuntime.get());
  private final MmuNotifierSubscriptions subs = mm.notifierSubscriptions();
  private final Mutex update = RealSyncRuntime.get().newMutex("driver.update");

  /** The curSeq the last correct callback received. */
  private final AtomicLong lastCurSeq = new AtomicLong();

  static Stream<Arguments> throwables() {
    return Stream.of(
        Arguments.of(Named.of("RuntimeException", new IllegalStateException("driver bug"))),
        Arguments.of(Named.of("Error", new Error("simulated device error"))));
  }

  static Stream<Arguments> throwablesAndModes() {
    return Stream.of(
        Arguments.of(Named.of("RuntimeException", new IllegalStateException("driver bug")), false),
        Arguments.of(Named.of("RuntimeException", new IllegalStateException("driver bug")), true),
        Arguments.of(Named.of("Error", new Error("simulated device error")), false),
        Arguments.of(Named.of("Error", new Error("simulated device error")), true));
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** Everything a closed window must have restored. */
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

  /**
   * The invalidate-side callback: lock (try-lock if not blockable), setSeq, unlock, return true.
   */
  private MmuIntervalNotifierOps correctOps() {
    return (sub, range, curSeq) -> {
      if (range.blockable()) {
        update.lock();
      } else if (!update.tryLock()) {
        return false;
      }
      try {
        sub.setSeq(curSeq);
        lastCurSeq.set(curSeq);
      } finally {
        update.unlock();
      }
      return true;
    };
  }

  private MmuIntervalNotifier insert(long start) throws ErrnoException {
    return mm.insertIntervalNotifier(start, LEN, correctOps(), update);
  }

  private MmuIntervalNotifier insert(long start, MmuIntervalNotifierOps ops) throws ErrnoException {
    return mm.insertIntervalNotifier(start, LEN, ops, update);
  }

  /**
   * A callback that breaks once: Mockito throws {@code boom} on the first call, then behaves like
   * {@link #correctOps()}.
   */
  private MmuIntervalNotifierOps throwingOnce(Throwable boom) {
    MmuIntervalNotifierOps correct = correctOps();
    MmuIntervalNotifierOps ops = mock(MmuIntervalNotifierOps.class);
    doThrow(boom)
        .doAnswer(
            inv -> correct.invalidate(inv.getArgument(0), inv.getArgument(1), inv.getArgument(2)))
        .when(ops)
        .invalidate(any(), any(), anyLong());
    return ops;
  }

  private static MmuNotifier classicMock() {
    MmuNotifier n = mock(MmuNotifier.class);
    doReturn(true).when(n).invalidateRangeStart(any());
    return n;
  }

  private MmuNotifierRange unmap(long start, long end) {
    return MmuNotifierRange.of(mm, MmuNotifierEvent.UNMAP, start, end);
  }

  private MmuNotifierRange over(MmuIntervalNotifier sub) {
    return unmap(sub.start(), sub.start() + PAGE);
  }

  /** After the end rethrew: the window is closed again. */
  private void assertWindowClosed(State before, boolean callbackReached) {
    State now = State.of(mm);
    assertThat(now.active()).isEqualTo(before.active());
    assertThat(now.seq()).isEven().isEqualTo(before.seq() + (callbackReached ? 2 : 0));
    assertThat(now.tree()).isEqualTo(before.tree());
    assertThat(now.deferred()).isEmpty();
    assertThat(now.mmCount()).isEqualTo(before.mmCount());
    assertThat(now.users()).isEqualTo(before.users());
    subs.checkConsistency();
    assertThat(LockDep.heldLocks()).isEmpty();
    assertThat(LockDep.inCallback()).isFalse();
  }

  private void assertNothingToEnd(MmuNotifierRange r) {
    assertThat(catchThrowable(() -> mm.invalidateRangeEnd(r)))
        .isInstanceOfSatisfying(
            LockRuleViolation.class,
            v -> assertThat(v.rule()).isEqualTo(LockRule.END_WITHOUT_START));
  }

  /** A correct read: readBegin returns at once, readRetry under the update lock is false. */
  private void assertReadCycleSucceeds(MmuIntervalNotifier sub) {
    long seq = sub.readBegin();
    update.lock();
    try {
      assertThat(sub.readRetry(seq)).isFalse();
    } finally {
      update.unlock();
    }
  }

  /** A later full window over {@code sub} works: seq +2, collision visible, reads work. */
  private void assertWindowWorks(MmuIntervalNotifier sub) {
    long readSeq = sub.readBegin();
    long seqBefore = subs.invalidateSeq();
    MmuNotifierRange r = over(sub);
    mm.invalidateRangeStart(r);
    mm.invalidateRangeEnd(r);
    assertThat(subs.invalidateSeq()).isEqualTo(seqBefore + 2);
    assertThat(subs.activeInvalidateRanges()).isZero();
    assertThat(sub.checkRetry(readSeq)).isTrue();
    subs.checkConsistency();
    assertReadCycleSucceeds(sub);
  }

  private static void sneakyThrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      throw r;
    }
    throw (Error) t;
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
      return result.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    boolean isDone() {
      return result.isDone();
    }
  }

  private static void awaitTrue(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out waiting until " + what);
      }
      Thread.yield();
    }
  }

  /** Polls until {@code async}'s thread sleeps; fails if it finishes instead. */
  private static void awaitBlocked(Async<?> async) {
    awaitTrue(
        () -> {
          if (async.isDone()) {
            fail(async.thread().getName() + " finished instead of blocking: " + outcome(async));
          }
          Thread.State s = async.thread().getState();
          return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING;
        },
        async.thread().getName() + " blocks");
  }

  private static String outcome(Async<?> async) {
    try {
      return "returned " + async.get();
    } catch (Exception e) {
      return "threw " + e;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Interval callbacks

  @ParameterizedTest(name = "{0}")
  @MethodSource("throwables")
  void throwingIntervalCallback_othersStillCalled_endRethrowsAfterClosing(Throwable boom)
      throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    MmuIntervalNotifierOps opsB = throwingOnce(boom);
    MmuIntervalNotifier b = insert(B_START, opsB);
    MmuNotifier classic = classicMock();
    mm.registerNotifier(classic);
    long aSeq = a.readBegin();
    State before = State.of(mm);
    MmuNotifierRange r = unmap(0, 0x100000); // a, then b

    mm.invalidateRangeStart(r); // returns: the window stays open for the page-table change

    assertThat(subs.invalidateSeq()).isEqualTo(before.seq() + 1);
    assertThat(subs.activeInvalidateRanges()).isEqualTo(before.active() + 1);
    verify(opsB).invalidate(same(b), same(r), eq(before.seq() + 1));
    assertThat(lastCurSeq.get()).isEqualTo(before.seq() + 1);
    assertThat(a.checkRetry(aSeq)).as("a was invalidated before b threw").isTrue();
    verify(classic).invalidateRangeStart(r); // the others are still called

    Throwable thrown = catchThrowable(() -> mm.invalidateRangeEnd(r));

    assertThat(thrown).isSameAs(boom);
    assertWindowClosed(before, true);
    verify(classic).invalidateRangeEnd(r);
    assertNothingToEnd(r);

    // Subsequent windows work; b's callback now returns normally.
    long seqBefore = subs.invalidateSeq();
    mm.invalidateRangeStart(r);
    mm.invalidateRangeEnd(r);
    assertThat(subs.invalidateSeq()).isEqualTo(seqBefore + 2);
    verify(opsB, times(2)).invalidate(same(b), same(r), anyLong());
    verify(classic, times(2)).invalidateRangeStart(r);
    verify(classic, times(2)).invalidateRangeEnd(r);
    subs.checkConsistency();
    assertReadCycleSucceeds(a);
    assertWindowWorks(a);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("throwables")
  void throwingOnlyCallbackOfTheWindow_stillAdvancesSeqByTwo(Throwable boom) throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    MmuIntervalNotifier b = insert(B_START, throwingOnce(boom));
    State before = State.of(mm);
    MmuNotifierRange r = over(b);

    mm.invalidateRangeStart(r);
    assertThat(catchThrowable(() -> mm.invalidateRangeEnd(r))).isSameAs(boom);

    assertWindowClosed(before, true);
    assertNothingToEnd(r);
    assertReadCycleSucceeds(a);
    assertWindowWorks(b);
    assertWindowWorks(a);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("throwables")
  void throwingCallbackInNestedWindow_keepsOuterWindowAndLastEndWakesReaderAndAppliesDeferred(
      Throwable boom) throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    MmuIntervalNotifierOps opsB = throwingOnce(boom);
    MmuIntervalNotifier b = insert(B_START, opsB);
    MmuIntervalNotifier d = insert(D_START);
    State before = State.of(mm);
    MmuNotifierRange w1 = over(a);
    MmuNotifierRange w2 = over(b);

    // W1 hits a: a's seq now equals the odd subscriptions seq.
    mm.invalidateRangeStart(w1);
    long w1Seq = subs.invalidateSeq();
    assertThat(w1Seq).isOdd().isEqualTo(before.seq() + 1);
    // Changes during the window are deferred: an insert, and a remove that waits for the end.
    MmuIntervalNotifier c = insert(C_START);
    Async<Void> remover =
        Async.start(
            "remover",
            () -> {
              d.remove();
              return null;
            });
    awaitTrue(() -> subs.deferredMembers().contains(d), "d's removal is queued");
    awaitBlocked(remover);
    Async<Long> reader = Async.start("reader", a::readBegin);
    awaitBlocked(reader);
    State during = State.of(mm);
    assertThat(during.deferred()).containsExactly(d, c);
    assertThat(during.tree()).containsExactly(a, b, d);
    assertThat(during.active()).isEqualTo(1);

    // W2, nested in W1, hits b, whose callback throws; W2's end reports it.
    mm.invalidateRangeStart(w2);
    Throwable thrown = catchThrowable(() -> mm.invalidateRangeEnd(w2));

    assertThat(thrown).isSameAs(boom);
    verify(opsB).invalidate(same(b), same(w2), eq(w1Seq));
    // W2 is closed, W1 is still open: nothing published yet, nobody woken for good.
    assertThat(State.of(mm)).isEqualTo(during);
    subs.checkConsistency();
    assertThat(reader.isDone()).isFalse();
    assertThat(remover.isDone()).isFalse();
    assertNothingToEnd(w2);

    // W1's end is the last end: seq +1, deferred applied, sleepers woken.
    mm.invalidateRangeEnd(w1);

    assertThat(reader.get()).isEqualTo(w1Seq);
    remover.get();
    State after = State.of(mm);
    assertThat(after.seq()).isEqualTo(before.seq() + 2);
    assertThat(after.active()).isZero();
    assertThat(after.tree()).containsExactly(a, b, c);
    assertThat(after.deferred()).isEmpty();
    assertThat(after.mmCount()).isEqualTo(before.mmCount()); // c added, d dropped
    subs.checkConsistency();
    assertReadCycleSucceeds(a);
    assertWindowWorks(a);
    assertWindowWorks(b);
    assertWindowWorks(c);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("throwables")
  void throwingCallbackOfTheOnlyWindow_itsEndWakesReaderAndAppliesDeferred(Throwable boom)
      throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    MmuIntervalNotifier d = insert(D_START);
    AtomicBoolean armed = new AtomicBoolean(true);
    AtomicReference<Async<Long>> reader = new AtomicReference<>();
    AtomicReference<Async<MmuIntervalNotifier>> helper = new AtomicReference<>();
    AtomicReference<State> during = new AtomicReference<>();
    MmuIntervalNotifierOps breaksAfterOthersQueued =
        (sub, range, curSeq) -> {
          if (!armed.getAndSet(false)) {
            return correctOps().invalidate(sub, range, curSeq);
          }
          // a's callback already ran in this window: a reader of a must sleep.
          reader.set(Async.start("reader", a::readBegin));
          awaitBlocked(reader.get());
          // Another thread inserts c (deferred) and removes d (queued; waits).
          helper.set(
              Async.start(
                  "inserter-remover",
                  () -> {
                    MmuIntervalNotifier c = insert(C_START);
                    d.remove();
                    return c;
                  }));
          awaitTrue(() -> subs.deferredMembers().contains(d), "d's removal is queued");
          awaitBlocked(helper.get());
          during.set(State.of(mm));
          sneakyThrow(boom);
          return true;
        };
    MmuIntervalNotifier b = insert(B_START, breaksAfterOthersQueued);
    State before = State.of(mm);
    MmuNotifierRange r = unmap(0, 0x100000); // a, b, d

    mm.invalidateRangeStart(r);
    assertThat(reader.get().isDone()).as("the window stays open until the end").isFalse();
    Throwable thrown = catchThrowable(() -> mm.invalidateRangeEnd(r));

    assertThat(thrown).isSameAs(boom);
    assertThat(during.get().deferred()).hasSize(2).contains(d);
    assertThat(during.get().seq()).isOdd();
    assertThat(reader.get().get()).isEqualTo(before.seq() + 1);
    MmuIntervalNotifier c = helper.get().get();
    State after = State.of(mm);
    assertThat(after.seq()).isEqualTo(before.seq() + 2);
    assertThat(after.active()).isEqualTo(before.active());
    assertThat(after.tree()).containsExactly(a, b, c);
    assertThat(after.deferred()).isEmpty();
    assertThat(after.mmCount()).isEqualTo(before.mmCount());
    subs.checkConsistency();
    assertNothingToEnd(r);
    assertReadCycleSucceeds(a);
    assertWindowWorks(a);
    assertWindowWorks(c);
    assertWindowWorks(b);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("throwables")
  void throwingCallbackInNonblockingStart_isNoRefusal_endRethrowsAfterClosing(Throwable boom)
      throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    MmuIntervalNotifierOps opsB = throwingOnce(boom);
    MmuIntervalNotifier b = insert(B_START, opsB);
    MmuNotifier classic = classicMock();
    mm.registerNotifier(classic);
    long aSeq = a.readBegin();
    State before = State.of(mm);
    MmuNotifierRange r = unmap(0, 0x100000);

    mm.invalidateRangeStartNonblock(r); // a throw is not a refusal: no EAGAIN

    verify(opsB)
        .invalidate(same(b), argThat(x -> x.sameWindow(r) && !x.blockable()), eq(before.seq() + 1));
    assertThat(a.checkRetry(aSeq)).isTrue();
    verify(classic).invalidateRangeStart(any());
    Throwable thrown = catchThrowable(() -> mm.invalidateRangeEnd(r));
    assertThat(thrown).isSameAs(boom).isNotInstanceOf(ErrnoException.class);
    assertWindowClosed(before, true);
    verify(classic).invalidateRangeEnd(any());
    assertNothingToEnd(r);

    mm.invalidateRangeStartNonblock(r);
    mm.invalidateRangeEnd(r);
    assertThat(subs.invalidateSeq()).isEqualTo(before.seq() + 4);
    verify(classic, times(2)).invalidateRangeEnd(any());
    subs.checkConsistency();
    assertReadCycleSucceeds(a);
    assertWindowWorks(b);
  }

  // ---------------------------------------------------------------------------------------------
  // Classic notifiers

  @ParameterizedTest(name = "{0}, nonblocking={1}")
  @MethodSource("throwablesAndModes")
  void throwingClassicStart_everyNotifierStartedAndEnded_endRethrows(
      Throwable boom, boolean nonblocking) throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    MmuNotifier older = mock(MmuNotifier.class);
    doThrow(boom).when(older).invalidateRangeStart(any());
    MmuNotifier newer = classicMock();
    mm.registerNotifier(older);
    mm.registerNotifier(newer); // the newest registration is called first
    long aSeq = a.readBegin();
    State before = State.of(mm);
    MmuNotifierRange r = over(a);
    MmuNotifierRange seen = r.withBlockable(!nonblocking);

    if (nonblocking) {
      mm.invalidateRangeStartNonblock(r);
    } else {
      mm.invalidateRangeStart(r);
    }
    Throwable thrown = catchThrowable(() -> mm.invalidateRangeEnd(r));

    assertThat(thrown).isSameAs(boom);
    assertWindowClosed(before, true);
    assertThat(a.checkRetry(aSeq)).isTrue();
    InOrder order = inOrder(newer, older);
    order.verify(newer).invalidateRangeStart(seen);
    order.verify(older).invalidateRangeStart(seen);
    order.verify(newer).invalidateRangeEnd(seen);
    order.verify(older).invalidateRangeEnd(seen);
    verifyNoMoreInteractions(newer, older);
    assertNothingToEnd(r);

    doReturn(true).when(older).invalidateRangeStart(any());
    assertWindowWorks(a);
    verify(older, times(2)).invalidateRangeEnd(any());
    verify(newer, times(2)).invalidateRangeEnd(any());
  }

  @Test
  void throwingClassicEnd_otherEndsStillCalledAndWindowClosed() throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    MmuNotifier older = classicMock();
    MmuNotifier newer = classicMock();
    RuntimeException boom = new IllegalStateException("end failed");
    doThrow(boom).when(newer).invalidateRangeEnd(any());
    mm.registerNotifier(older);
    mm.registerNotifier(newer); // ended first
    long aSeq = a.readBegin();
    State before = State.of(mm);
    MmuNotifierRange r = over(a);
    mm.invalidateRangeStart(r);

    Throwable thrown = catchThrowable(() -> mm.invalidateRangeEnd(r));

    assertThat(thrown).isSameAs(boom);
    InOrder order = inOrder(newer, older);
    order.verify(newer).invalidateRangeEnd(r);
    order.verify(older).invalidateRangeEnd(r);
    assertWindowClosed(before, true);
    assertThat(a.checkRetry(aSeq)).isTrue();
    assertNothingToEnd(r);

    doNothing().when(newer).invalidateRangeEnd(any());
    assertWindowWorks(a);
    verify(newer, times(2)).invalidateRangeEnd(r);
    verify(older, times(2)).invalidateRangeEnd(r);
  }

  @Test
  void throwingClassicEnd_whileUnwindingFailedNonblockStart_closesWindowOnce() throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    MmuNotifier declines = mock(MmuNotifier.class); // start returns false: cannot block
    MmuNotifier endThrows = classicMock();
    RuntimeException boom = new IllegalStateException("end failed");
    doThrow(boom).when(endThrows).invalidateRangeEnd(any());
    mm.registerNotifier(declines);
    mm.registerNotifier(endThrows); // started first, then declines fails
    State before = State.of(mm);
    MmuNotifierRange r = over(a);

    Throwable thrown = catchThrowable(() -> mm.invalidateRangeStartNonblock(r));

    assertThat(thrown).isSameAs(boom);
    // Every classic notifier is ended after a refusal, the one that refused too (kernel rule).
    verify(endThrows, times(1)).invalidateRangeEnd(any());
    verify(declines, times(1)).invalidateRangeEnd(any());
    assertWindowClosed(before, true);

    doNothing().when(endThrows).invalidateRangeEnd(any());
    doReturn(true).when(declines).invalidateRangeStart(any());
    assertWindowWorks(a);
  }

  @Test
  void severalThrowingCallbacks_firstRethrownWithTheOthersSuppressed() throws Exception {
    RuntimeException first = new IllegalStateException("interval callback");
    Error second = new Error("classic start");
    RuntimeException third = new IllegalArgumentException("classic end");
    MmuIntervalNotifier a = insert(A_START, throwingOnce(first));
    MmuNotifier classic = classicMock();
    doThrow(second).when(classic).invalidateRangeStart(any());
    doThrow(third).when(classic).invalidateRangeEnd(any());
    mm.registerNotifier(classic);
    State before = State.of(mm);
    MmuNotifierRange r = over(a);

    mm.invalidateRangeStart(r);
    Throwable thrown = catchThrowable(() -> mm.invalidateRangeEnd(r));

    assertThat(thrown).isSameAs(first);
    assertThat(thrown.getSuppressed()).containsExactly(second, third);
    assertWindowClosed(before, true);
  }

  @Test
  void throwingStartThatIsAlsoRefused_throwableCarriesTheEagain() throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    RuntimeException boom = new IllegalStateException("driver bug");
    MmuNotifier throwsFirst = mock(MmuNotifier.class);
    doThrow(boom).when(throwsFirst).invalidateRangeStart(any());
    MmuNotifier declines = mock(MmuNotifier.class); // start returns false: cannot block
    mm.registerNotifier(throwsFirst);
    mm.registerNotifier(declines); // called first
    State before = State.of(mm);
    MmuNotifierRange r = over(a);

    Throwable thrown = catchThrowable(() -> mm.invalidateRangeStartNonblock(r));

    assertThat(thrown).isSameAs(boom);
    assertThat(thrown.getSuppressed())
        .singleElement()
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EAGAIN));
    // The refusal rule (mainline: end every classic notifier, close the window) still applied.
    verify(declines).invalidateRangeEnd(any());
    verify(throwsFirst).invalidateRangeEnd(any());
    assertWindowClosed(before, true);
    assertThat(catchThrowable(() -> mm.invalidateRangeEnd(r)))
        .isInstanceOfSatisfying(
            LockRuleViolation.class,
            v -> assertThat(v.rule()).isEqualTo(LockRule.END_AFTER_FAILED_NONBLOCK_START));
  }

  // ---------------------------------------------------------------------------------------------
  // Release (process exit)

  @ParameterizedTest(name = "{0}")
  @MethodSource("throwables")
  void throwingCallbackDuringRelease_reachesCallerAndClosesReleaseWindow(Throwable boom)
      throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    MmuIntervalNotifierOps opsB = throwingOnce(boom);
    MmuIntervalNotifier b = insert(B_START, opsB);
    long aSeq = a.readBegin();
    State before = State.of(mm);

    Throwable thrown = catchThrowable(mm::mmuNotifierRelease);

    assertThat(thrown).isSameAs(boom);
    assertWindowClosed(before, true);
    assertThat(subs.treeMembers()).as("release removes nothing").containsExactly(a, b);
    verify(opsB)
        .invalidate(
            same(b),
            argThat(
                x ->
                    x.event() == MmuNotifierEvent.RELEASE
                        && x.start() == 0
                        && x.end() == MmuNotifierRange.ULONG_MAX
                        && x.blockable()
                        && x.owner() == null),
            eq(before.seq() + 1));
    assertThat(a.checkRetry(aSeq)).isTrue();

    // UNMAP invalidations after release still work, and both subscriptions are removable.
    assertWindowWorks(a);
    assertWindowWorks(b);
    a.remove();
    b.remove();
    assertThat(subs.treeMembers()).isEmpty();
    assertThat(mm.mmCount()).isEqualTo(before.mmCount() - 2);
    subs.checkConsistency();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("throwables")
  void throwingCallbackDuringExit_reachesMmputCallerAndDropsTheUsersReference(Throwable boom)
      throws Exception {
    MmuIntervalNotifier a = insert(A_START);
    MmuIntervalNotifier b = insert(B_START, throwingOnce(boom));
    State before = State.of(mm);

    Throwable thrown = catchThrowable(mm::mmput);

    assertThat(thrown).isSameAs(boom);
    assertThat(mm.users()).isZero();
    assertThat(mm.mmCount()).isEqualTo(before.mmCount() - 1);
    assertThat(subs.activeInvalidateRanges()).isZero();
    assertThat(subs.invalidateSeq()).isEqualTo(before.seq() + 2);
    assertThat(subs.treeMembers()).containsExactly(a, b);
    subs.checkConsistency();
    assertThat(catchThrowable(() -> insert(C_START)))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
    assertWindowWorks(a);
    a.remove();
    b.remove();
    assertThat(mm.mmCount()).isZero();
  }
}
