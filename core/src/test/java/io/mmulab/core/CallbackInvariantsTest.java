package io.mmulab.core;

import static io.mmulab.core.NotifierFixture.PAGE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.mockito.InOrder;

/** Callback invariants 18–24 of docs/notifier.md. */
class CallbackInvariantsTest {
  private final NotifierFixture f = new NotifierFixture();

  @Test
  @DisplayName("invariant 18: each start calls exactly the intersecting subscriptions in the tree")
  void start_callsExactlyIntersecting() throws Exception {
    long seed = Long.getLong("mmulab.seed", 18L);
    Random rnd = new Random(seed);
    List<MmuIntervalNotifier> live = new ArrayList<>();
    for (int step = 0; step < 3_000; step++) {
      if (live.size() < 40 && rnd.nextBoolean()) {
        long start = rnd.nextInt(64) * PAGE;
        live.add(f.insert(start, (1 + rnd.nextInt(6)) * PAGE));
      } else if (!live.isEmpty() && rnd.nextInt(3) == 0) {
        live.remove(rnd.nextInt(live.size())).remove();
      }
      long qs = rnd.nextInt(70) * PAGE;
      MmuNotifierRange r = f.unmap(qs, qs + (1 + rnd.nextInt(8)) * PAGE);
      f.calls.clear();
      f.mm.invalidateRangeStart(r);
      f.mm.invalidateRangeEnd(r);
      List<MmuIntervalNotifier> expected = new ArrayList<>();
      for (MmuIntervalNotifier s : f.subs().treeMembers()) {
        if (r.intersects(s.start(), s.last())) {
          expected.add(s);
        }
      }
      assertThat(f.calledSubs())
          .as("seed %d step %d range %s", seed, step, r)
          .containsExactlyInAnyOrderElementsOf(expected);
    }
  }

  @Test
  @DisplayName(
      "invariant 19: callbacks run one after another by ascending start, ties by insertion")
  void callbacks_orderedByStartThenInsertion() throws Exception {
    MmuIntervalNotifier c = f.insert(5 * PAGE, PAGE);
    MmuIntervalNotifier a1 = f.insert(PAGE, 8 * PAGE);
    MmuIntervalNotifier b = f.insert(3 * PAGE, PAGE);
    MmuIntervalNotifier a2 = f.insert(PAGE, PAGE);
    MmuNotifierRange r = f.unmap(0, 16 * PAGE);
    f.mm.invalidateRangeStart(r);
    f.mm.invalidateRangeEnd(r);
    assertThat(f.calledSubs()).containsExactly(a1, a2, b, c);
    assertThat(f.calledSubs())
        .isSortedAccordingTo(Comparator.comparingLong(MmuIntervalNotifier::start));
  }

  @Test
  @DisplayName("invariant 20: blocking start warns on a false return, goes on, and needs its end")
  void blockingStart_falseReturnWarnsAndContinues() throws Exception {
    MmuIntervalNotifierOps refusing = mock(MmuIntervalNotifierOps.class);
    when(refusing.invalidate(any(), any(), anyLong())).thenReturn(false);
    f.mm.insertIntervalNotifier(0, PAGE, refusing, f.update);
    MmuIntervalNotifier next = f.insert(PAGE, PAGE);
    MmuNotifierRange r = f.unmap(0, 2 * PAGE);
    f.mm.invalidateRangeStart(r);
    assertThat(f.calledSubs()).containsExactly(next);
    assertThat(f.mm.warnings()).singleElement().asString().contains("returned false for blockable");
    assertThat(f.subs().activeInvalidateRanges()).isOne();
    f.mm.invalidateRangeEnd(r);
    f.assertIdleAndConsistent();
  }

  @Test
  @DisplayName("invariant 21: non-blocking start stops at the first false, closes, EAGAIN, no end")
  void nonblockStart_firstFalseStopsAndCloses() throws Exception {
    MmuIntervalNotifier first = f.insert(0, PAGE);
    MmuIntervalNotifierOps busy = mock(MmuIntervalNotifierOps.class);
    when(busy.invalidate(any(), any(), anyLong())).thenReturn(false);
    f.mm.insertIntervalNotifier(PAGE, PAGE, busy, f.update);
    MmuIntervalNotifier after = f.insert(2 * PAGE, PAGE);
    long seq = f.subs().invalidateSeq();
    MmuNotifierRange r = f.unmap(0, 3 * PAGE);

    assertThatThrownBy(() -> f.mm.invalidateRangeStartNonblock(r))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EAGAIN));

    assertThat(f.calledSubs()).containsExactly(first).doesNotContain(after);
    ArgumentCaptor<MmuNotifierRange> seen = ArgumentCaptor.forClass(MmuNotifierRange.class);
    verify(busy).invalidate(any(), seen.capture(), eq(seq | 1));
    assertThat(seen.getValue().blockable()).isFalse();
    assertThat(f.subs().invalidateSeq()).isEqualTo(seq + 2);
    f.assertIdleAndConsistent();
    assertThatThrownBy(() -> f.mm.invalidateRangeEnd(r))
        .isInstanceOfSatisfying(
            LockRuleViolation.class,
            v -> assertThat(v.rule()).isEqualTo(LockRule.END_AFTER_FAILED_NONBLOCK_START));
    f.assertIdleAndConsistent();
  }

  @Test
  @DisplayName(
      "invariant 22: release calls each subscription once with RELEASE over [0, ULONG_MAX)")
  void release_callsEverySubscriptionOnce() throws Exception {
    MmuIntervalNotifierOps ops = mock(MmuIntervalNotifierOps.class);
    when(ops.invalidate(any(), any(), anyLong())).thenReturn(true);
    MmuIntervalNotifier low = f.mm.insertIntervalNotifier(0, PAGE, ops, f.update);
    MmuIntervalNotifier high = f.mm.insertIntervalNotifier(-2 * PAGE, 2 * PAGE, ops, f.update);
    List<MmuIntervalNotifier> before = f.subs().treeMembers();

    f.mm.mmuNotifierRelease();

    MmuNotifierRange release = MmuNotifierRange.release(f.mm);
    assertThat(release.start()).isZero();
    assertThat(release.end()).isEqualTo(-1L);
    assertThat(release.blockable()).isTrue();
    assertThat(release.owner()).isNull();
    verify(ops, times(1)).invalidate(eq(low), eq(release), anyLong());
    verify(ops, times(1)).invalidate(eq(high), eq(release), anyLong());
    assertThat(f.subs().treeMembers()).containsExactlyElementsOf(before);
    f.assertIdleAndConsistent();
  }

  @Test
  @DisplayName("invariant 22: classic notifiers get release and are unregistered by it")
  void release_classicNotifiersReleasedAfterIntervals() throws Exception {
    MmuIntervalNotifierOps ops = mock(MmuIntervalNotifierOps.class);
    when(ops.invalidate(any(), any(), anyLong())).thenReturn(true);
    f.mm.insertIntervalNotifier(0, PAGE, ops, f.update);
    MmuNotifier classic = mock(MmuNotifier.class);
    f.mm.registerNotifier(classic);
    f.mm.mmuNotifierRelease();
    InOrder order = inOrder(ops, classic);
    order.verify(ops).invalidate(any(), any(), anyLong());
    order.verify(classic).release(f.mm);
    MmuNotifierRange later = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(later);
    f.mm.invalidateRangeEnd(later);
    verify(classic, never()).invalidateRangeStart(any());
  }

  @Test
  @DisplayName("invariant 23: UNMAP invalidations still arrive after RELEASE")
  void afterRelease_unmapStillDelivered() throws Exception {
    MmuIntervalNotifier sub = f.insert(0, PAGE);
    f.mm.mmuNotifierRelease();
    MmuNotifierRange unmap = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(unmap);
    f.mm.invalidateRangeEnd(unmap);
    assertThat(f.calls)
        .extracting(c -> c.range().event())
        .containsExactly(MmuNotifierEvent.RELEASE, MmuNotifierEvent.UNMAP);
    sub.remove();
  }

  @Test
  @DisplayName("invariant 24: only MIGRATE and EXCLUSIVE ranges carry an owner")
  void owner_onlyForMigrateAndExclusive() throws Exception {
    MmuIntervalNotifierOps ops = mock(MmuIntervalNotifierOps.class);
    when(ops.invalidate(any(), any(), anyLong())).thenReturn(true);
    f.mm.insertIntervalNotifier(0, PAGE, ops, f.update);
    Object device = "dmirror0";
    for (MmuNotifierEvent e : MmuNotifierEvent.values()) {
      if (e.carriesOwner()) {
        MmuNotifierRange r = new MmuNotifierRange(f.mm, 0, PAGE, e, true, device);
        f.mm.invalidateRangeStart(r);
        f.mm.invalidateRangeEnd(r);
        verify(ops).invalidate(any(), eq(r), anyLong());
      } else {
        assertThatThrownBy(() -> new MmuNotifierRange(f.mm, 0, PAGE, e, true, device))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining(e.name());
      }
    }
    assertThat(MmuNotifierEvent.MIGRATE.carriesOwner()).isTrue();
    assertThat(MmuNotifierEvent.EXCLUSIVE.carriesOwner()).isTrue();
  }
}
