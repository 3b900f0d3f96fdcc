package io.mmulab.core;

import static io.mmulab.core.NotifierFixture.PAGE;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Tree and deferral invariants 9–17 of docs/notifier.md. */
class TreeDeferralInvariantsTest {
  private final NotifierFixture f = new NotifierFixture();

  @Test
  @DisplayName("invariant 9: while seq is odd the tree's members and bounds do not change")
  void oddSeq_freezesTree() throws Exception {
    MmuIntervalNotifier a = f.insert(0, PAGE);
    MmuIntervalNotifier b = f.insert(2 * PAGE, PAGE);
    MmuNotifierRange r = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(r);
    List<MmuIntervalNotifier> frozen = f.subs().treeMembers();
    MmuIntervalNotifier c = f.insert(PAGE, PAGE);
    Thread remover =
        NotifierFixture.startThread("remover", b::remove, new CopyOnWriteArrayList<>());
    NotifierFixture.awaitBlocked(remover);
    assertThat(f.subs().treeMembers()).containsExactlyElementsOf(frozen).containsExactly(a, b);
    assertThat(f.subs().deferredMembers()).containsExactlyInAnyOrder(b, c);
    f.mm.invalidateRangeEnd(r);
    NotifierFixture.join(remover);
    assertThat(f.subs().treeMembers()).containsExactly(a, c);
  }

  @Test
  @DisplayName("invariant 10: the last end applies the deferred list head first and empties it")
  void lastEnd_appliesDeferredLifo() throws Exception {
    f.insert(0, PAGE);
    MmuNotifierRange r = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(r);
    MmuIntervalNotifier first = f.insert(8 * PAGE, PAGE);
    MmuIntervalNotifier second = f.insert(8 * PAGE, PAGE);
    assertThat(f.subs().deferredMembers()).containsExactly(second, first);
    f.mm.invalidateRangeEnd(r);
    assertThat(f.subs().deferredMembers()).isEmpty();
    // Equal starts keep tree-insertion order, so head-first application puts `second` first.
    assertThat(f.subs().treeMembers()).endsWith(second, first);
    f.assertIdleAndConsistent();
  }

  @Test
  @DisplayName("invariant 10: waiters are woken after the seq bump")
  void lastEnd_wakesWaitersAfterBump() throws Exception {
    MmuIntervalNotifier sub = f.insert(0, PAGE);
    MmuNotifierRange r = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(r);
    long odd = f.subs().invalidateSeq();
    long[] seenAfterWake = new long[1];
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    Thread reader =
        NotifierFixture.startThread(
            "reader",
            () -> {
              sub.readBegin();
              seenAfterWake[0] = f.subs().invalidateSeq();
            },
            failures);
    NotifierFixture.awaitBlocked(reader);
    f.mm.invalidateRangeEnd(r);
    NotifierFixture.join(reader);
    assertThat(failures).isEmpty();
    assertThat(seenAfterWake[0]).isEqualTo(odd + 1);
  }

  @Test
  @DisplayName(
      "invariant 11: a subscription inserted while odd is absent and not called until the end")
  void insertWhileOdd_deferredAndNotCalled() throws Exception {
    f.insert(0, PAGE);
    MmuNotifierRange r = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(r);
    MmuIntervalNotifier late = f.insert(0, PAGE);
    assertThat(f.subs().treeMembers()).doesNotContain(late);
    MmuNotifierRange again = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(again);
    f.mm.invalidateRangeEnd(again);
    assertThat(f.calledSubs()).doesNotContain(late);
    f.mm.invalidateRangeEnd(r);
    assertThat(f.subs().treeMembers()).contains(late);
    MmuNotifierRange after = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(after);
    f.mm.invalidateRangeEnd(after);
    assertThat(f.calledSubs()).contains(late);
  }

  @Test
  @DisplayName("invariant 12: insert while active with an even seq goes in now and makes seq odd")
  void insertWhileActiveEven_insertsAndForcesOdd() throws Exception {
    MmuNotifierRange miss = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(miss);
    long even = f.subs().invalidateSeq();
    assertThat(even % 2).isZero();
    MmuIntervalNotifier sub = f.insert(8 * PAGE, PAGE);
    assertThat(f.subs().treeMembers()).containsExactly(sub);
    assertThat(f.subs().invalidateSeq()).isEqualTo(even | 1);
    // readBegin must wait for the window: the inserter cannot know what it invalidates.
    assertThat(((IntervalSubscription) sub).invalidateSeq).isEqualTo(f.subs().invalidateSeq());
    f.mm.invalidateRangeEnd(miss);
    f.assertIdleAndConsistent();
  }

  @Test
  @DisplayName(
      "invariant 13: insert while idle is in the tree at once and readBegin does not block")
  void insertWhileIdle_immediate() throws Exception {
    MmuIntervalNotifier sub = f.insert(0, PAGE);
    assertThat(f.subs().treeMembers()).containsExactly(sub);
    long seq = sub.readBegin();
    assertThat(f.readRetryLocked(sub, seq)).isFalse();
  }

  @Test
  @DisplayName("invariant 14: insert then remove within one odd window never reaches the tree")
  void insertThenRemoveInWindow_neverInTree() throws Exception {
    f.insert(0, PAGE);
    MmuNotifierRange r = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(r);
    MmuIntervalNotifier ghost = f.insert(0, PAGE);
    ghost.remove(); // must not block: it was never visible to an iterator
    assertThat(f.subs().deferredMembers()).isEmpty();
    MmuNotifierRange again = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(again);
    f.mm.invalidateRangeEnd(again);
    f.mm.invalidateRangeEnd(r);
    assertThat(f.subs().treeMembers()).doesNotContain(ghost);
    assertThat(f.calledSubs()).doesNotContain(ghost);
  }

  @Test
  @DisplayName("invariant 15: remove while even returns at once and the subscription is gone")
  void removeWhileEven_immediate() throws Exception {
    MmuIntervalNotifier sub = f.insert(0, PAGE);
    MmuNotifierRange miss = f.unmap(PAGE, 2 * PAGE);
    f.mm.invalidateRangeStart(miss); // active but even
    sub.remove();
    assertThat(f.subs().treeMembers()).isEmpty();
    f.mm.invalidateRangeEnd(miss);
  }

  @Test
  @DisplayName("invariant 16: remove while odd blocks until the window ends; then no callback runs")
  void removeWhileOdd_waitsForWindow() throws Exception {
    MmuIntervalNotifier sub = f.insert(0, PAGE);
    MmuNotifierRange r = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(r);
    AtomicBoolean returned = new AtomicBoolean();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    Thread remover =
        NotifierFixture.startThread(
            "remover",
            () -> {
              sub.remove();
              returned.set(true);
            },
            failures);
    NotifierFixture.awaitBlocked(remover);
    assertThat(returned).isFalse();
    assertThat(f.subs().treeMembers()).contains(sub);
    f.mm.invalidateRangeEnd(r);
    NotifierFixture.join(remover);
    assertThat(failures).isEmpty();
    assertThat(f.subs().treeMembers()).doesNotContain(sub);
    int callsBefore = f.calls.size();
    MmuNotifierRange after = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(after);
    f.mm.invalidateRangeEnd(after);
    assertThat(f.calls).hasSize(callsBefore);
  }

  @Test
  @DisplayName("invariant 17: each insert takes one mm reference that its remove drops")
  void insertAndRemove_balanceMmCount() throws Exception {
    int base = f.mm.mmCount();
    MmuIntervalNotifier a = f.insert(0, PAGE);
    MmuIntervalNotifier b = f.insert(PAGE, PAGE);
    assertThat(f.mm.mmCount()).isEqualTo(base + 2);
    MmuNotifierRange r = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(r);
    MmuIntervalNotifier deferred = f.insert(0, PAGE);
    assertThat(f.mm.mmCount()).isEqualTo(base + 3);
    deferred.remove();
    f.mm.invalidateRangeEnd(r);
    a.remove();
    b.remove();
    assertThat(f.mm.mmCount()).isEqualTo(base);
  }
}
