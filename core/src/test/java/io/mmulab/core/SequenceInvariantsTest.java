package io.mmulab.core;

import static io.mmulab.core.NotifierFixture.PAGE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Container and sequence-word invariants 1–8 of docs/notifier.md. */
class SequenceInvariantsTest {
  private final NotifierFixture f = new NotifierFixture();

  @Test
  @DisplayName("invariant 1: seq starts at 2; the first subscription inserted while idle gets 1")
  void seq_startsAtTwo() throws Exception {
    assertThat(f.subs().invalidateSeq()).isEqualTo(2);
    MmuIntervalNotifier sub = f.insert(0, PAGE);
    assertThat(sub.readBegin()).isEqualTo(1);
    assertThat(f.subs().invalidateSeq()).isEqualTo(2);
  }

  @Test
  @DisplayName("invariant 2: every subscription's seq stays odd from insert to remove")
  void subscriptionSeq_alwaysOdd() throws Exception {
    long seed = Long.getLong("mmulab.seed", 0x2L);
    Random rnd = new Random(seed);
    List<MmuIntervalNotifier> live = new ArrayList<>();
    List<MmuNotifierRange> open = new ArrayList<>();
    for (int step = 0; step < 2_000; step++) {
      int op = rnd.nextInt(4);
      long start = rnd.nextInt(32) * PAGE;
      if (op == 0) {
        live.add(f.insert(start, (1 + rnd.nextInt(4)) * PAGE));
      } else if (op == 1 && !live.isEmpty() && open.isEmpty()) {
        live.remove(rnd.nextInt(live.size())).remove();
      } else if (op == 2 && open.size() < 3) {
        MmuNotifierRange r = f.unmap(start, start + (1 + rnd.nextInt(8)) * PAGE);
        f.mm.invalidateRangeStart(r);
        open.add(r);
      } else if (!open.isEmpty()) {
        f.mm.invalidateRangeEnd(open.remove(open.size() - 1));
      }
      for (MmuIntervalNotifier s : live) {
        assertThat(((IntervalSubscription) s).invalidateSeq & 1)
            .as("seed %d step %d: %s", seed, step, s)
            .isOne();
      }
      f.subs().checkConsistency();
    }
  }

  @Test
  @DisplayName("invariant 3: with no open invalidation the seq is even")
  void idle_seqEven() throws Exception {
    f.insert(0, PAGE);
    MmuNotifierRange hit = f.unmap(0, PAGE);
    MmuNotifierRange miss = f.unmap(8 * PAGE, 9 * PAGE);
    for (MmuNotifierRange r : List.of(hit, miss, hit)) {
      f.mm.invalidateRangeStart(r);
      f.mm.invalidateRangeEnd(r);
      assertThat(f.subs().activeInvalidateRanges()).isZero();
      assertThat(f.subs().invalidateSeq() % 2).isZero();
    }
  }

  @Test
  @DisplayName("invariant 4: an odd seq implies an open invalidation")
  void oddSeq_impliesActive() throws Exception {
    f.insert(0, PAGE);
    MmuNotifierRange r = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(r);
    assertThat(f.subs().invalidateSeq() % 2).isOne();
    assertThat(f.subs().activeInvalidateRanges()).isPositive();
    f.mm.invalidateRangeEnd(r);
    assertThat(f.subs().invalidateSeq() % 2).isZero();
  }

  @Test
  @DisplayName("invariant 5: active = starts - ends; an EAGAIN start leaves it unchanged")
  void active_countsStartsMinusEnds() throws Exception {
    MmuIntervalNotifier sub = f.mm.insertIntervalNotifier(0, PAGE, (s, r, seq) -> r.blockable());
    MmuNotifierRange a = f.unmap(8 * PAGE, 9 * PAGE);
    MmuNotifierRange b = f.unmap(16 * PAGE, 17 * PAGE);
    f.mm.invalidateRangeStart(a);
    f.mm.invalidateRangeStart(b);
    assertThat(f.subs().activeInvalidateRanges()).isEqualTo(2);
    assertThatThrownBy(() -> f.mm.invalidateRangeStartNonblock(f.unmap(0, PAGE)))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EAGAIN));
    assertThat(f.subs().activeInvalidateRanges()).isEqualTo(2);
    f.mm.invalidateRangeEnd(b);
    assertThat(f.subs().activeInvalidateRanges()).isEqualTo(1);
    f.mm.invalidateRangeEnd(a);
    f.assertIdleAndConsistent();
    sub.remove();
  }

  @Test
  @DisplayName("invariant 6: a window that hit nothing leaves seq; one that hit advances it by 2")
  void window_advancesSeqByTwoOnlyOnHit() throws Exception {
    f.insert(0, PAGE);
    long before = f.subs().invalidateSeq();
    MmuNotifierRange miss = f.unmap(PAGE, 2 * PAGE);
    f.mm.invalidateRangeStart(miss);
    f.mm.invalidateRangeEnd(miss);
    assertThat(f.subs().invalidateSeq()).isEqualTo(before);

    MmuNotifierRange hit = f.unmap(0, PAGE);
    MmuNotifierRange hitToo = f.unmap(0, 2 * PAGE);
    f.mm.invalidateRangeStart(hit);
    f.mm.invalidateRangeStart(hitToo);
    f.mm.invalidateRangeEnd(hitToo);
    f.mm.invalidateRangeEnd(hit);
    assertThat(f.subs().invalidateSeq()).isEqualTo(before + 2);
  }

  @Test
  @DisplayName("invariant 7: nested and concurrent overlapping starts share one odd curSeq")
  void overlappingStarts_shareCurSeq() throws Exception {
    f.insert(0, PAGE);
    f.insert(4 * PAGE, PAGE);
    MmuNotifierRange outer = f.unmap(0, PAGE);
    MmuNotifierRange nested = f.unmap(4 * PAGE, 5 * PAGE);
    f.mm.invalidateRangeStart(outer);
    f.mm.invalidateRangeStart(nested);

    List<Throwable> failures = new CopyOnWriteArrayList<>();
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch mayEnd = new CountDownLatch(1);
    Thread other =
        NotifierFixture.startThread(
            "other-cpu",
            () -> {
              MmuNotifierRange r = f.unmap(0, 8 * PAGE);
              f.mm.invalidateRangeStart(r);
              started.countDown();
              await(mayEnd);
              f.mm.invalidateRangeEnd(r);
            },
            failures);
    await(started);
    f.mm.invalidateRangeEnd(nested);
    f.mm.invalidateRangeEnd(outer);
    mayEnd.countDown();
    NotifierFixture.join(other);
    assertThat(failures).isEmpty();

    assertThat(f.calls).hasSize(4);
    long cur = f.calls.get(0).curSeq();
    assertThat(cur % 2).isOne();
    assertThat(f.calls).allSatisfy(c -> assertThat(c.curSeq()).isEqualTo(cur));
    f.assertIdleAndConsistent();
  }

  @Test
  @DisplayName("invariant 8: curSeq is odd and equals the container seq at that start")
  void curSeq_equalsContainerSeq() throws Exception {
    f.insert(0, PAGE);
    for (int i = 0; i < 5; i++) {
      MmuNotifierRange r = f.unmap(0, PAGE);
      f.mm.invalidateRangeStart(r);
      f.mm.invalidateRangeEnd(r);
    }
    assertThat(f.calls).hasSize(5);
    assertThat(f.calls)
        .allSatisfy(
            c -> {
              assertThat(c.curSeq() % 2).isOne();
              assertThat(c.curSeq()).isEqualTo(c.seqDuringCall());
            });
  }

  static void await(CountDownLatch latch) {
    try {
      if (!latch.await(10, java.util.concurrent.TimeUnit.SECONDS)) {
        throw new AssertionError("latch timed out");
      }
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
