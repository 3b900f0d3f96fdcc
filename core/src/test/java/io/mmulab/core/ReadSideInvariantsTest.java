package io.mmulab.core;

import static io.mmulab.core.NotifierFixture.PAGE;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierRange;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Read-side invariants 25–28 of docs/notifier.md. */
class ReadSideInvariantsTest {
  private final NotifierFixture f = new NotifierFixture();

  @Test
  @DisplayName("invariant 25: readBegin sleeps while this subscription was hit by the open window")
  void readBegin_waitsForWindowThatHitIt() throws Exception {
    MmuIntervalNotifier sub = f.insert(0, PAGE);
    MmuNotifierRange r = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(r);
    long curSeq = f.calls.get(0).curSeq();
    AtomicLong returned = new AtomicLong();
    AtomicLong containerAtReturn = new AtomicLong();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    Thread reader =
        NotifierFixture.startThread(
            "reader",
            () -> {
              returned.set(sub.readBegin());
              containerAtReturn.set(f.subs().invalidateSeq());
            },
            failures);
    NotifierFixture.awaitBlocked(reader);
    assertThat(returned.get()).isZero();
    f.mm.invalidateRangeEnd(r);
    NotifierFixture.join(reader);
    assertThat(failures).isEmpty();
    // It returns the subscription's value as read under the lock: the window's odd value.
    assertThat(returned.get()).isEqualTo(curSeq);
    assertThat(containerAtReturn.get()).isNotEqualTo(curSeq);
    assertThat(f.readRetryLocked(sub, returned.get())).isFalse();
  }

  @Test
  @DisplayName("invariant 26: readBegin does not block for a window that has not reached it yet")
  void readBegin_doesNotWaitForWindowNotYetHere() throws Exception {
    CountDownLatch inFirstCallback = new CountDownLatch(1);
    CountDownLatch releaseFirst = new CountDownLatch(1);
    f.mm.insertIntervalNotifier(
        0,
        PAGE,
        (s, r, cur) -> {
          inFirstCallback.countDown();
          SequenceInvariantsTest.await(releaseFirst);
          return true;
        },
        f.update);
    MmuIntervalNotifier later = f.insert(PAGE, PAGE);
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    MmuNotifierRange r = f.unmap(0, 2 * PAGE);
    Thread invalidator =
        NotifierFixture.startThread(
            "invalidator",
            () -> {
              f.mm.invalidateRangeStart(r);
              f.mm.invalidateRangeEnd(r);
            },
            failures);
    SequenceInvariantsTest.await(inFirstCallback);
    assertThat(f.subs().invalidateSeq() % 2).isOne();

    long seq = later.readBegin(); // returns at once: the window has not called `later` yet
    assertThat(f.readRetryLocked(later, seq)).isFalse();

    releaseFirst.countDown();
    NotifierFixture.join(invalidator);
    assertThat(failures).isEmpty();
    assertThat(f.readRetryLocked(later, seq)).as("the window reached it afterwards").isTrue();
  }

  @Test
  @DisplayName("invariant 27: readRetry is true exactly when setSeq stored another value")
  void readRetry_trueIffSetSeqChangedIt() throws Exception {
    MmuIntervalNotifier sub = f.insert(0, PAGE);
    MmuIntervalNotifier other = f.insert(8 * PAGE, PAGE);
    long seq = sub.readBegin();
    long otherSeq = other.readBegin();
    MmuNotifierRange r = f.unmap(0, PAGE);
    f.mm.invalidateRangeStart(r);
    f.mm.invalidateRangeEnd(r);
    assertThat(f.readRetryLocked(sub, seq)).isTrue();
    assertThat(f.readRetryLocked(other, otherSeq)).isFalse();
    long fresh = sub.readBegin();
    assertThat(f.readRetryLocked(sub, fresh)).isFalse();
  }

  @Test
  @DisplayName("invariant 28: checkRetry true implies a later readRetry true")
  void checkRetry_noFalsePositives() throws Exception {
    long seed = Long.getLong("mmulab.seed", 28L);
    Random rnd = new Random(seed);
    MmuIntervalNotifier sub = f.insert(4 * PAGE, 4 * PAGE);
    for (int i = 0; i < 2_000; i++) {
      long seq = sub.readBegin();
      for (int k = rnd.nextInt(3); k > 0; k--) {
        long s = rnd.nextInt(12) * PAGE;
        MmuNotifierRange r = f.unmap(s, s + PAGE);
        f.mm.invalidateRangeStart(r);
        f.mm.invalidateRangeEnd(r);
      }
      boolean check = sub.checkRetry(seq);
      boolean retry = f.readRetryLocked(sub, seq);
      assertThat(!check || retry).as("seed %d iteration %d", seed, i).isTrue();
      assertThat(check).as("check and retry agree without concurrency").isEqualTo(retry);
    }
  }
}
