package io.mmulab.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.core.sync.RealSyncRuntime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

/** An address space, a driver update lock, and callbacks that follow the driver contract. */
final class NotifierFixture {
  static final long PAGE = 4096;

  final MmStruct mm = new MmStruct(RealSyncRuntime.get());
  final Mutex update = RealSyncRuntime.get().newMutex("driver.update");
  final List<Call> calls = new CopyOnWriteArrayList<>();

  /** One callback invocation as the driver saw it. */
  record Call(MmuIntervalNotifier sub, MmuNotifierRange range, long curSeq, long seqDuringCall) {}

  MmuNotifierSubscriptions subs() {
    return mm.notifierSubscriptions();
  }

  /**
   * The invalidate-side callback: lock (try-lock if not blockable), setSeq, (zap), unlock, return
   * true; every completed call recorded.
   */
  MmuIntervalNotifierOps recordingOps() {
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
      calls.add(new Call(sub, range, curSeq, subs().invalidateSeq()));
      return true;
    };
  }

  MmuIntervalNotifier insert(long start, long length) throws ErrnoException {
    return mm.insertIntervalNotifier(start, length, recordingOps(), update);
  }

  MmuNotifierRange unmap(long start, long end) {
    return MmuNotifierRange.of(mm, MmuNotifierEvent.UNMAP, start, end);
  }

  List<MmuIntervalNotifier> calledSubs() {
    List<MmuIntervalNotifier> out = new ArrayList<>();
    for (Call c : calls) {
      out.add(c.sub());
    }
    return out;
  }

  boolean readRetryLocked(MmuIntervalNotifier sub, long seq) {
    update.lock();
    try {
      return sub.readRetry(seq);
    } finally {
      update.unlock();
    }
  }

  void assertIdleAndConsistent() {
    subs().checkConsistency();
    assertThat(subs().activeInvalidateRanges()).isZero();
    assertThat(subs().invalidateSeq() & 1).as("idle seq is even").isZero();
    assertThat(subs().deferredMembers()).isEmpty();
  }

  /** Starts a thread; the test fails rather than hangs if it does not finish in time. */
  static Thread startThread(String name, Runnable body, List<Throwable> failures) {
    Thread t =
        new Thread(
            () -> {
              try {
                body.run();
              } catch (Throwable e) {
                failures.add(e);
              }
            },
            name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** Waits until {@code t} is parked (blocked in a wait), failing after a generous bound. */
  static void awaitBlocked(Thread t) {
    awaitTrue(
        () -> t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING,
        t.getName() + " to block");
  }

  static void awaitTrue(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.onSpinWait();
    }
  }

  static void join(Thread t) throws InterruptedException {
    t.join(Duration.ofSeconds(10).toMillis());
    assertThat(t.isAlive()).as(t.getName() + " finished").isFalse();
  }
}
