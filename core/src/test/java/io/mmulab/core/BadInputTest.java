package io.mmulab.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.doReturn;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.core.sync.RealSyncRuntime;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rejected arguments and calls on an exited address space (docs/notifier.md, "API"): the error
 * reported, and that the rejected call left every structure as it was.
 */
class BadInputTest {
  private static final long PAGE = 0x1000;
  private static final long A_START = 0x10000;
  private static final long A_LEN = 0x10000;

  private final MmStruct mm = new MmStruct(RealSyncRuntime.get());
  private final MmuNotifierSubscriptions subs = mm.notifierSubscriptions();
  private final Mutex update = RealSyncRuntime.get().newMutex("driver.update");
  private final List<MmuNotifierRange> calls = new CopyOnWriteArrayList<>();

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** Everything a rejected call must leave as it was. */
  private record State(
      long seq,
      long active,
      List<MmuIntervalNotifier> tree,
      List<MmuIntervalNotifier> deferred,
      int mmCount,
      int users,
      List<String> warnings) {
    static State of(MmStruct mm) {
      MmuNotifierSubscriptions s = mm.notifierSubscriptions();
      return new State(
          s.invalidateSeq(),
          s.activeInvalidateRanges(),
          s.treeMembers(),
          s.deferredMembers(),
          mm.mmCount(),
          mm.users(),
          mm.warnings());
    }

    State withoutWarnings() {
      return new State(seq, active, tree, deferred, mmCount, users, List.of());
    }
  }

  private static void assertUnchanged(MmStruct mm, State before) {
    assertThat(State.of(mm)).isEqualTo(before);
    mm.notifierSubscriptions().checkConsistency();
  }

  private void assertUnchanged(State before) {
    assertUnchanged(mm, before);
  }

  /** The invalidate-side callback, recording every range it was called for. */
  private MmuIntervalNotifierOps recordingOps() {
    return (sub, range, curSeq) -> {
      if (range.blockable()) {
        update.lock();
      } else if (!update.tryLock()) {
        return false;
      }
      try {
        sub.setSeq(curSeq);
      } finally {
        update.unlock();
      }
      calls.add(range);
      return true;
    };
  }

  private MmuIntervalNotifier insert(long start, long length) throws ErrnoException {
    return mm.insertIntervalNotifier(start, length, recordingOps(), update);
  }

  private MmuNotifierRange unmap(long start, long end) {
    return MmuNotifierRange.of(mm, MmuNotifierEvent.UNMAP, start, end);
  }

  /** A full window over {@code [start, end)} hitting {@code sub}: seq +2, collision visible. */
  private void assertWindowHits(MmuIntervalNotifier sub, long start, long end) {
    long readSeq = sub.readBegin();
    long seqBefore = subs.invalidateSeq();
    int callsBefore = calls.size();
    MmuNotifierRange r = unmap(start, end);
    mm.invalidateRangeStart(r);
    mm.invalidateRangeEnd(r);
    assertThat(calls.subList(callsBefore, calls.size())).containsExactly(r);
    assertThat(subs.invalidateSeq()).isEqualTo(seqBefore + 2);
    assertThat(subs.activeInvalidateRanges()).isZero();
    assertThat(sub.checkRetry(readSeq)).isTrue();
    long seq = sub.readBegin();
    update.lock();
    try {
      assertThat(sub.readRetry(seq)).isFalse();
    } finally {
      update.unlock();
    }
    subs.checkConsistency();
  }

  private static void assertErrno(ThrowingCallable call, Errno errno) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(errno))
        .hasMessageStartingWith(errno.name() + ": ");
  }

  private static String hex(long v) {
    return "0x" + Long.toHexString(v);
  }

  // ---------------------------------------------------------------------------------------------
  // Insert: bounds

  @Test
  void insertRejectedWithEoverflow_lengthZero() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    State before = State.of(mm);

    assertErrno(() -> insert(0x100000, 0), Errno.EOVERFLOW);
    assertThatThrownBy(() -> insert(0x100000, 0)).hasMessageContainingAll(hex(0x100000), "0x0");
    assertErrno(() -> insert(0, 0), Errno.EOVERFLOW);
    assertErrno(() -> insert(-1L, 0), Errno.EOVERFLOW);

    assertUnchanged(before);
    assertThat(calls).isEmpty();
    assertWindowHits(a, A_START, A_START + PAGE);
  }

  static Stream<Arguments> overflowingRanges() {
    return Stream.of(
        Arguments.of(-4096L, 8192L),
        Arguments.of(-4096L, 4097L),
        Arguments.of(2L, -1L), // 2^64 - 1 bytes from 2
        Arguments.of(-1L, 2L),
        Arguments.of(0x8000_0000_0000_0000L, 0x8000_0000_0000_0001L),
        Arguments.of(-1L, -1L));
  }

  @ParameterizedTest(name = "start {0}, length {1}")
  @MethodSource("overflowingRanges")
  void insertRejectedWithEoverflow_rangePasses2to64(long start, long length) throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    State before = State.of(mm);

    assertErrno(() -> insert(start, length), Errno.EOVERFLOW);
    assertThatThrownBy(() -> insert(start, length))
        .hasMessageContainingAll(hex(start), hex(length));
    mm.mmapLock().downWrite();
    try {
      assertErrno(
          () -> mm.insertIntervalNotifierLocked(start, length, recordingOps(), update),
          Errno.EOVERFLOW);
    } finally {
      mm.mmapLock().upWrite();
    }

    assertUnchanged(before);
    assertWindowHits(a, A_START, A_START + PAGE);
  }

  static Stream<Arguments> rangesReachingTheTop() {
    return Stream.of(
        Arguments.of(-4096L, 4096L),
        Arguments.of(-1L, 1L), // the single last byte
        Arguments.of(1L, -1L), // 2^64 - 1 bytes from 1: last = 2^64 - 1
        Arguments.of(1L, -1L - 1), // 2^64 - 2 bytes from 1
        Arguments.of(0L, -1L)); // all but the last byte: last = 2^64 - 2
  }

  @ParameterizedTest(name = "start {0}, length {1}")
  @MethodSource("rangesReachingTheTop")
  void insertAccepted_rangeEndingAtOrBelow2to64Minus1(long start, long length) throws Exception {
    int countBefore = mm.mmCount();

    MmuIntervalNotifier sub = insert(start, length);

    assertThat(sub.start()).isEqualTo(start);
    assertThat(sub.last()).isEqualTo(start + length - 1);
    assertThat(subs.treeMembers()).containsExactly(sub);
    assertThat(mm.mmCount()).isEqualTo(countBefore + 1);
    subs.checkConsistency();
    sub.remove();
    assertThat(mm.mmCount()).isEqualTo(countBefore);
  }

  @Test
  void insertAccepted_lastPageOfTheAddressSpace_isHitByInvalidationsBelow2to64Minus1()
      throws Exception {
    MmuIntervalNotifier top = insert(-4096L, 4096L);
    MmuIntervalNotifier low = insert(A_START, A_LEN);

    assertThat(top.start()).isEqualTo(-4096L);
    assertThat(top.last()).isEqualTo(-1L);
    assertThat(top.end()).as("the exclusive end wraps to 0").isZero();
    assertThat(subs.treeMembers()).containsExactly(low, top);
    subs.checkConsistency();

    // [2^64 - 8192, 2^64 - 1) intersects [2^64 - 4096, 2^64 - 1].
    assertWindowHits(top, -8192L, -1L);
    // So does the range of its second-to-last byte alone.
    assertWindowHits(top, -2L, -1L);
    // A range that ends where it starts does not.
    calls.clear();
    long seq = top.readBegin();
    MmuNotifierRange below = unmap(-8192L, -4096L);
    mm.invalidateRangeStart(below);
    mm.invalidateRangeEnd(below);
    assertThat(calls).isEmpty();
    assertThat(top.checkRetry(seq)).isFalse();
    // The release range [0, 2^64 - 1) reaches both.
    mm.mmput();
    assertThat(calls)
        .extracting(MmuNotifierRange::event)
        .containsExactly(MmuNotifierEvent.RELEASE, MmuNotifierEvent.RELEASE);
    assertThat(top.checkRetry(seq)).isTrue();
    subs.checkConsistency();
  }

  // ---------------------------------------------------------------------------------------------
  // Insert: address space state and arguments

  @Test
  void insertRejectedWithEinvalAndWarning_afterExit() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    mm.mmput(); // the only user: exit
    assertThat(mm.users()).isZero();
    State before = State.of(mm);
    assertThat(before.mmCount()).as("only a's reference is left").isEqualTo(1);

    assertErrno(() -> insert(0x100000, PAGE), Errno.EINVAL);

    State after = State.of(mm);
    assertThat(after.warnings()).hasSize(before.warnings().size() + 1);
    assertThat(after.warnings().get(after.warnings().size() - 1))
        .contains(mm.name())
        .contains("no users");
    assertThat(after.withoutWarnings()).isEqualTo(before.withoutWarnings());
    assertThat(after.warnings().subList(0, before.warnings().size())).isEqualTo(before.warnings());
    subs.checkConsistency();

    // The same with the caller holding the mmap lock for write and the locked variant.
    mm.mmapLock().downWrite();
    try {
      assertErrno(
          () -> mm.insertIntervalNotifierLocked(0x100000, PAGE, recordingOps(), update),
          Errno.EINVAL);
    } finally {
      mm.mmapLock().upWrite();
    }
    assertThat(mm.warnings()).hasSize(before.warnings().size() + 2);
    assertThat(mm.mmCount()).isEqualTo(1);

    // Invalidations after release (exit_mmap unmapping) still work; a is still removable.
    assertWindowHits(a, A_START, A_START + PAGE);
    a.remove();
    assertThat(mm.mmCount()).isZero();
    assertThat(subs.treeMembers()).isEmpty();
    subs.checkConsistency();
  }

  @Test
  void insertRejectedWithNpe_nullOps() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    State before = State.of(mm);

    assertThatThrownBy(() -> mm.insertIntervalNotifier(0x100000, PAGE, null, update))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("ops");
    assertThatThrownBy(() -> mm.insertIntervalNotifier(0x100000, PAGE, null))
        .isInstanceOf(NullPointerException.class);
    RwSemaphore mmap = mm.mmapLock();
    mmap.downWrite();
    try {
      assertThatThrownBy(() -> mm.insertIntervalNotifierLocked(0x100000, PAGE, null, update))
          .isInstanceOf(NullPointerException.class);
    } finally {
      mmap.upWrite();
    }

    assertUnchanged(before);
    assertWindowHits(a, A_START, A_START + PAGE);
  }

  // ---------------------------------------------------------------------------------------------
  // MmuNotifierRange validation

  static Stream<Arguments> emptyOrInvertedRanges() {
    return Stream.of(
        Arguments.of(0x2000L, 0x1000L),
        Arguments.of(0x1000L, 0x1000L),
        Arguments.of(0L, 0L),
        Arguments.of(-4096L, 0x1000L), // unsigned: 2^64 - 4096 is above 0x1000
        Arguments.of(-1L, -1L));
  }

  @ParameterizedTest(name = "[{0}, {1})")
  @MethodSource("emptyOrInvertedRanges")
  void rangeRejectedWithIae_startNotBelowEnd(long start, long end) throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    State before = State.of(mm);

    assertThatThrownBy(
            () -> new MmuNotifierRange(mm, start, end, MmuNotifierEvent.UNMAP, true, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll(hex(start), hex(end));
    assertThatThrownBy(() -> MmuNotifierRange.of(mm, MmuNotifierEvent.CLEAR, start, end))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll(hex(start), hex(end));

    assertUnchanged(before);
    assertWindowHits(a, A_START, A_START + PAGE);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(
      value = MmuNotifierEvent.class,
      names = {"MIGRATE", "EXCLUSIVE"},
      mode = EnumSource.Mode.EXCLUDE)
  void rangeRejectedWithIae_ownerForEventWithoutOwner(MmuNotifierEvent event) {
    Object owner = "device-42";

    assertThatThrownBy(() -> new MmuNotifierRange(mm, 0, PAGE, event, true, owner))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll("device-42", event.name());
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(
      value = MmuNotifierEvent.class,
      names = {"MIGRATE", "EXCLUSIVE"})
  void rangeAccepted_ownerForMigrateAndExclusive(MmuNotifierEvent event) throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    MmuNotifierRange r = new MmuNotifierRange(mm, A_START, A_START + PAGE, event, true, "me");

    mm.invalidateRangeStart(r);
    mm.invalidateRangeEnd(r);

    assertThat(calls).singleElement().satisfies(c -> assertThat(c.owner()).isEqualTo("me"));
    assertThat(a.readBegin()).isOdd();
    subs.checkConsistency();
  }

  @Test
  void invalidationRejectedWithIae_rangeOfAnotherMm() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    MmStruct other = new MmStruct(RealSyncRuntime.get());
    MmuNotifierRange foreign =
        MmuNotifierRange.of(other, MmuNotifierEvent.UNMAP, A_START, A_START + PAGE);
    State before = State.of(mm);
    State otherBefore = State.of(other);

    assertThatThrownBy(() -> mm.invalidateRangeStart(foreign))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll(other.name(), mm.name());
    assertThatThrownBy(() -> mm.invalidateRangeStartNonblock(foreign))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll(other.name(), mm.name());
    assertThatThrownBy(() -> mm.invalidateRangeEnd(foreign))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll(other.name(), mm.name());

    assertUnchanged(before);
    assertUnchanged(other, otherBefore);
    assertThat(calls).isEmpty();
    assertWindowHits(a, A_START, A_START + PAGE);
  }

  @Test
  void invalidationEndRejectedWithIae_rangeOfAnotherMmWhileAWindowIsOpen() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    MmStruct other = new MmStruct(RealSyncRuntime.get());
    MmuNotifierRange mine = unmap(A_START, A_START + PAGE);
    MmuNotifierRange foreign =
        MmuNotifierRange.of(other, MmuNotifierEvent.UNMAP, A_START, A_START + PAGE);
    mm.invalidateRangeStart(mine);
    State during = State.of(mm);

    assertThatThrownBy(() -> mm.invalidateRangeEnd(foreign))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> other.invalidateRangeEnd(mine))
        .isInstanceOf(IllegalArgumentException.class);

    assertUnchanged(during);
    mm.invalidateRangeEnd(mine);
    assertThat(subs.activeInvalidateRanges()).isZero();
    subs.checkConsistency();
    assertWindowHits(a, A_START, A_START + PAGE);
  }

  // ---------------------------------------------------------------------------------------------
  // Classic notifiers

  @Test
  void registerNotifierRejectedWithEinval_afterExit() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    mm.mmput();
    State before = State.of(mm);
    MmuNotifier late = mock(MmuNotifier.class);
    doReturn(true).when(late).invalidateRangeStart(any());

    assertErrno(() -> mm.registerNotifier(late), Errno.EINVAL);
    assertThatThrownBy(() -> mm.registerNotifier(late)).hasMessageContaining(mm.name());

    assertUnchanged(before);
    // It was not registered: later invalidations do not reach it.
    assertWindowHits(a, A_START, A_START + PAGE);
    verifyNoInteractions(late);
  }

  @Test
  void registerNotifierRejectedWithIae_whenAlreadyRegistered() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    MmuNotifier n = mock(MmuNotifier.class);
    doReturn(true).when(n).invalidateRangeStart(any());
    mm.registerNotifier(n);
    State before = State.of(mm);

    assertThatThrownBy(() -> mm.registerNotifier(n))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(mm.name());

    assertUnchanged(before);
    assertThatThrownBy(() -> mm.registerNotifier(null)).isInstanceOf(NullPointerException.class);
    assertUnchanged(before);
    assertWindowHits(a, A_START, A_START + PAGE);
    // Registered once: started and ended once per window.
    verify(n, times(1)).invalidateRangeStart(any());
    verify(n, times(1)).invalidateRangeEnd(any());
  }

  @Test
  void unregisterNotifierRejectedWithIae_unknownNotifier() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    MmuNotifier known = mock(MmuNotifier.class);
    doReturn(true).when(known).invalidateRangeStart(any());
    mm.registerNotifier(known);
    MmuNotifier unknown = mock(MmuNotifier.class);
    State before = State.of(mm);

    assertThatThrownBy(() -> mm.unregisterNotifier(unknown))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(mm.name());
    assertThatThrownBy(() -> mm.unregisterNotifier(null)).isInstanceOf(NullPointerException.class);

    assertUnchanged(before);
    verifyNoInteractions(unknown);
    // The known one is still registered.
    assertWindowHits(a, A_START, A_START + PAGE);
    verify(known).invalidateRangeStart(any());
    verify(known).invalidateRangeEnd(any());
  }

  // ---------------------------------------------------------------------------------------------
  // User references

  @Test
  void mmgetRejectedWithIse_afterExit() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    mm.mmput();
    State before = State.of(mm);

    assertThatThrownBy(mm::mmget)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(mm.name());

    assertUnchanged(before);
    assertThat(mm.users()).isZero();
    assertErrno(() -> insert(0x100000, PAGE), Errno.EINVAL); // still exited
    a.remove();
    assertThat(mm.mmCount()).isZero();
  }

  @Test
  void mmputRejectedWithIse_withNoUsers() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    mm.mmput();
    int releaseCalls = calls.size();
    State before = State.of(mm);

    assertThatThrownBy(mm::mmput)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(mm.name());

    assertUnchanged(before);
    assertThat(calls).as("no second exit").hasSize(releaseCalls);
    assertWindowHits(a, A_START, A_START + PAGE);
  }

  @Test
  void mmgetNotZero_afterExit_isFalse() throws Exception {
    MmuIntervalNotifier a = insert(A_START, A_LEN);
    assertThat(mm.mmgetNotZero()).isTrue();
    assertThat(mm.users()).isEqualTo(2);
    mm.mmput();
    mm.mmput();
    assertThat(mm.users()).isZero();
    State before = State.of(mm);

    assertThat(mm.mmgetNotZero()).isFalse();

    assertUnchanged(before);
    assertWindowHits(a, A_START, A_START + PAGE);
  }

  @Test
  void userReferences_balanceWhileAlive() throws Exception {
    mm.mmget();
    assertThat(mm.users()).isEqualTo(2);
    mm.mmput();
    assertThat(mm.users()).isEqualTo(1);
    assertThat(mm.mmCount()).isEqualTo(1);
    assertThat(mm.warnings()).isEmpty();
  }
}
