package io.mmulab.core;

import static io.mmulab.core.NotifierFixture.PAGE;
import static io.mmulab.core.NotifierFixture.awaitBlocked;
import static io.mmulab.core.NotifierFixture.join;
import static io.mmulab.core.NotifierFixture.startThread;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierFactory;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.NonblockRefusal;
import io.mmulab.api.sync.Mutex;
import io.mmulab.core.sync.RealSyncRuntime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The classic notifier's lifetime, refusal rules, lock rules and shared (get/put) notifiers. */
class ClassicNotifierTest {
  private final NotifierFixture f = new NotifierFixture();

  /** Counts its callbacks; its start can be made to block until released. */
  private static final class Recording implements MmuNotifier {
    final AtomicInteger starts = new AtomicInteger();
    final AtomicInteger ends = new AtomicInteger();
    final AtomicInteger releases = new AtomicInteger();
    final AtomicInteger running = new AtomicInteger();
    volatile CountDownLatch blockStart;
    volatile CountDownLatch inStart = new CountDownLatch(1);

    @Override
    public boolean invalidateRangeStart(MmuNotifierRange range) {
      running.incrementAndGet();
      try {
        starts.incrementAndGet();
        inStart.countDown();
        CountDownLatch b = blockStart;
        if (b != null) {
          await(b);
        }
        return true;
      } finally {
        running.decrementAndGet();
      }
    }

    @Override
    public void invalidateRangeEnd(MmuNotifierRange range) {
      ends.incrementAndGet();
    }

    @Override
    public void release(AddressSpace mm) {
      releases.incrementAndGet();
    }
  }

  /** Refuses every non-blockable start and has no end, as the kernel requires of such notifiers. */
  private static final class Refusing implements MmuNotifier {
    final AtomicInteger starts = new AtomicInteger();

    @Override
    public boolean invalidateRangeStart(MmuNotifierRange range) {
      starts.incrementAndGet();
      return range.blockable();
    }
  }

  private static void await(CountDownLatch l) {
    try {
      if (!l.await(10, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private void window() {
    MmuNotifierRange r = f.unmap(0x10000, 0x20000);
    f.mm.invalidateRangeStart(r);
    f.mm.invalidateRangeEnd(r);
  }

  // ---------------------------------------------------------------------------------------------
  // Lifetime

  @Test
  void unregisterReturnsOnlyOnceNoCallbackRuns_whileAnInvalidationIsInFlight() throws Exception {
    Recording n = new Recording();
    f.mm.registerNotifier(n);
    n.blockStart = new CountDownLatch(1);
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    Thread invalidator = startThread("invalidator", this::window, failures);
    await(n.inStart);
    AtomicInteger runningAtReturn = new AtomicInteger(-1);
    Thread unregister =
        startThread(
            "unregister",
            () -> {
              f.mm.unregisterNotifier(n);
              runningAtReturn.set(n.running.get());
            },
            failures);

    awaitBlocked(unregister);
    assertThat(runningAtReturn).hasValue(-1);
    n.blockStart.countDown();
    join(unregister);
    join(invalidator);

    assertThat(failures).isEmpty();
    assertThat(runningAtReturn).as("callbacks running when unregister returned").hasValue(0);
    assertThat(n.releases).hasValue(1);
    int starts = n.starts.get();
    window();
    assertThat(n.starts).as("no callback after unregister").hasValue(starts);
    f.assertIdleAndConsistent();
  }

  @Test
  void releaseSeesItselfRegistered_atExitAndAtUnregister() throws Exception {
    List<Boolean> listedDuringRelease = new CopyOnWriteArrayList<>();
    MmuNotifierSubscriptions subs = f.subs();
    class Checking implements MmuNotifier {
      @Override
      public void release(AddressSpace mm) {
        listedDuringRelease.add(subs.isClassicRegistered(this));
      }
    }
    Checking atExit = new Checking();
    Checking atUnregister = new Checking();
    f.mm.registerNotifier(atExit);
    f.mm.registerNotifier(atUnregister);

    f.mm.unregisterNotifier(atUnregister);
    f.mm.mmput();

    assertThat(listedDuringRelease).containsExactly(true, true);
    assertThat(subs.isClassicRegistered(atExit)).isFalse();
    f.mm.unregisterNotifier(atExit); // after exit released it: allowed once
    assertThatThrownBy(() -> f.mm.unregisterNotifier(atExit))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(f.mm.name());
  }

  @Test
  void unregisterRacingExit_neverSkipsRelease() throws Exception {
    for (int i = 0; i < 200; i++) {
      NotifierFixture g = new NotifierFixture();
      Recording n = new Recording();
      g.mm.registerNotifier(n);
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      AtomicInteger releasesSeenByUnregister = new AtomicInteger();
      Thread exit = startThread("exit", g.mm::mmput, failures);
      Thread unregister =
          startThread(
              "unregister",
              () -> {
                g.mm.unregisterNotifier(n);
                releasesSeenByUnregister.set(n.releases.get());
              },
              failures);
      join(exit);
      join(unregister);
      assertThat(failures).isEmpty();
      assertThat(releasesSeenByUnregister.get())
          .as("release done when unregister returned, round " + i)
          .isBetween(1, 2);
    }
  }

  @Test
  void unregisterWaitsForExitsRelease_whenExitUnlinkedTheNotifierFirst() throws Exception {
    CountDownLatch inRelease = new CountDownLatch(1);
    CountDownLatch finishRelease = new CountDownLatch(1);
    AtomicBoolean releaseDone = new AtomicBoolean();
    MmuNotifier slow =
        new MmuNotifier() {
          @Override
          public void release(AddressSpace mm) {
            inRelease.countDown();
            await(finishRelease);
            releaseDone.set(true);
          }
        };
    f.mm.registerNotifier(slow);
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    Thread exit = startThread("exit", f.mm::mmput, failures);
    await(inRelease);
    AtomicBoolean doneAtReturn = new AtomicBoolean();
    Thread unregister =
        startThread(
            "unregister",
            () -> {
              f.mm.unregisterNotifier(slow);
              doneAtReturn.set(releaseDone.get());
            },
            failures);

    awaitBlocked(unregister);
    finishRelease.countDown();
    join(exit);
    join(unregister);

    assertThat(failures).isEmpty();
    assertThat(doneAtReturn).as("exit's release had finished when unregister returned").isTrue();
  }

  @Test
  void unregisterFromACallback_violatesGracePeriodRule() throws Exception {
    AtomicBoolean armed = new AtomicBoolean(true);
    List<Throwable> caught = new ArrayList<>();
    MmuNotifier[] self = new MmuNotifier[1];
    self[0] =
        new MmuNotifier() {
          @Override
          public boolean invalidateRangeStart(MmuNotifierRange range) {
            if (armed.getAndSet(false)) {
              caught.add(catchThrowable(() -> f.mm.unregisterNotifier(self[0])));
            }
            return true;
          }
        };
    f.mm.registerNotifier(self[0]);

    window();

    assertThat(caught)
        .singleElement()
        .isInstanceOfSatisfying(
            LockRuleViolation.class,
            v -> assertThat(v.rule()).isEqualTo(LockRule.GRACE_PERIOD_IN_CALLBACK));
    assertThat(f.subs().isClassicRegistered(self[0])).isTrue();
    f.mm.unregisterNotifier(self[0]);
    f.assertIdleAndConsistent();
  }

  // ---------------------------------------------------------------------------------------------
  // A refused non-blockable start

  @ParameterizedTest
  @EnumSource(NonblockRefusal.class)
  void refusedNonblockStart_callsEveryStartThenFollowsTheSelectedRule(NonblockRefusal rule)
      throws Exception {
    f.mm.setNonblockRefusal(rule);
    MmuIntervalNotifier sub = f.insert(0x10000, 0x10000);
    Recording older = new Recording();
    Refusing refusing = new Refusing();
    Recording newer = new Recording();
    f.mm.registerNotifier(older);
    f.mm.registerNotifier(refusing);
    f.mm.registerNotifier(newer); // called first
    long seqBefore = f.subs().invalidateSeq();
    MmuNotifierRange r = f.unmap(0x10000, 0x11000);

    Throwable thrown = catchThrowable(() -> f.mm.invalidateRangeStartNonblock(r));

    assertThat(thrown)
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EAGAIN));
    assertThat(List.of(newer.starts.get(), refusing.starts.get(), older.starts.get()))
        .as("every classic start is called, also after the refusal")
        .containsExactly(1, 1, 1);
    assertThat(f.calledSubs()).containsExactly(sub);
    int expectedEnds = rule == NonblockRefusal.LINUX_5_5 ? 0 : 1;
    assertThat(newer.ends).hasValue(expectedEnds);
    assertThat(older.ends).hasValue(expectedEnds);
    assertThat(f.mm.warnings()).isEmpty();
    assertThatThrownBy(() -> f.mm.invalidateRangeEnd(r))
        .isInstanceOfSatisfying(
            LockRuleViolation.class,
            v -> assertThat(v.rule()).isEqualTo(LockRule.END_AFTER_FAILED_NONBLOCK_START));
    if (rule == NonblockRefusal.END_ALL_CLOSE_WINDOW) {
      assertThat(f.subs().invalidateSeq()).isEqualTo(seqBefore + 2);
      f.assertIdleAndConsistent();
    } else {
      assertThat(f.subs().activeInvalidateRanges()).as("the kernel leaves it open").isEqualTo(1);
      assertThat(f.subs().invalidateSeq()).isEqualTo(seqBefore | 1);
      f.subs().checkConsistency();
    }
  }

  @Test
  void refusingNotifierWithAnEnd_isWarnedAbout() throws Exception {
    MmuNotifier refusingWithEnd =
        new MmuNotifier() {
          @Override
          public boolean invalidateRangeStart(MmuNotifierRange range) {
            return false;
          }

          @Override
          public void invalidateRangeEnd(MmuNotifierRange range) {}
        };
    f.mm.registerNotifier(refusingWithEnd);

    assertThatThrownBy(() -> f.mm.invalidateRangeStartNonblock(f.unmap(0, PAGE)))
        .isInstanceOf(ErrnoException.class);

    assertThat(f.mm.warnings()).singleElement().asString().contains("invalidateRangeEnd");
  }

  @Test
  void refusedBlockableStart_isWarnedPerNotifierAndEndedByTheCaller() throws Exception {
    MmuNotifier first =
        new MmuNotifier() {
          @Override
          public boolean invalidateRangeStart(MmuNotifierRange range) {
            return false;
          }
        };
    Recording second = new Recording();
    f.mm.registerNotifier(second);
    f.mm.registerNotifier(first);

    window();

    assertThat(second.starts).hasValue(1);
    assertThat(second.ends).hasValue(1);
    assertThat(f.mm.warnings()).singleElement().asString().contains("failed blockable");
    f.assertIdleAndConsistent();
  }

  // ---------------------------------------------------------------------------------------------
  // Lock rules

  @Test
  void sleepingInANonblockableClassicStart_violatesTheLockRule() throws Exception {
    Mutex driverLock = RealSyncRuntime.get().newMutex("classic.driver");
    List<Throwable> caught = new CopyOnWriteArrayList<>();
    MmuNotifier sleeper =
        new MmuNotifier() {
          @Override
          public boolean invalidateRangeStart(MmuNotifierRange range) {
            try {
              driverLock.lock();
              driverLock.unlock();
            } catch (LockRuleViolation v) {
              caught.add(v);
            }
            return true;
          }
        };
    f.mm.registerNotifier(sleeper);
    MmuNotifierRange r = f.unmap(0, PAGE);

    f.mm.invalidateRangeStartNonblock(r);
    f.mm.invalidateRangeEnd(r);

    assertThat(caught)
        .singleElement()
        .isInstanceOfSatisfying(
            LockRuleViolation.class,
            v -> {
              assertThat(v.rule()).isEqualTo(LockRule.SLEEP_IN_NONBLOCKABLE_CALLBACK);
              assertThat(v).hasMessageContaining("classic notifier");
            });
    assertThat(driverLock.isHeldByCurrentThread()).isFalse();
    f.assertIdleAndConsistent();
  }

  @Test
  void lockTakenInAClassicStart_isACallbackLockForReadBegin() throws Exception {
    Mutex driverLock = RealSyncRuntime.get().newMutex("classic.lock");
    f.mm.registerNotifier(
        new MmuNotifier() {
          @Override
          public boolean invalidateRangeStart(MmuNotifierRange range) {
            driverLock.lock();
            driverLock.unlock();
            return true;
          }
        });
    MmuIntervalNotifier sub = f.insert(0x10000, 0x10000);
    window();

    driverLock.lock();
    try {
      assertThatThrownBy(sub::readBegin)
          .isInstanceOfSatisfying(
              LockRuleViolation.class,
              v -> assertThat(v.rule()).isEqualTo(LockRule.READ_BEGIN_HOLDING_CALLBACK_LOCK));
    } finally {
      driverLock.unlock();
    }
  }

  @Test
  void registerNotifierLocked_needsTheMmapLockForWrite() throws Exception {
    Recording n = new Recording();
    assertThatThrownBy(() -> f.mm.registerNotifierLocked(n))
        .isInstanceOfSatisfying(
            LockRuleViolation.class,
            v -> assertThat(v.rule()).isEqualTo(LockRule.INSERT_LOCKED_WITHOUT_MMAP_WRITE_LOCK));
    assertThat(f.subs().isClassicRegistered(n)).isFalse();

    f.mm.mmapLock().downWrite();
    try {
      f.mm.registerNotifierLocked(n);
    } finally {
      f.mm.mmapLock().upWrite();
    }
    window();
    assertThat(n.starts).hasValue(1);
  }

  // ---------------------------------------------------------------------------------------------
  // get / put

  /** Allocates {@link Recording}s and records which were freed. */
  private static final class Factory implements MmuNotifierFactory<Recording> {
    final List<Recording> allocated = new CopyOnWriteArrayList<>();
    final List<Recording> freed = new CopyOnWriteArrayList<>();

    @Override
    public Recording allocNotifier(AddressSpace mm) {
      assertThat(mm.mmapLock().isWriteHeldByCurrentThread()).isTrue();
      Recording r = new Recording();
      allocated.add(r);
      return r;
    }

    @Override
    public void freeNotifier(Recording notifier) {
      freed.add(notifier);
    }
  }

  @Test
  void getAndPut_shareOneNotifierFreedAfterTheLastPutAndAGracePeriod() throws Exception {
    Factory factory = new Factory();
    Recording a = f.mm.getNotifier(factory);
    Recording b = f.mm.getNotifier(factory);
    assertThat(b).isSameAs(a);
    assertThat(factory.allocated).containsExactly(a);
    Recording other = f.mm.getNotifier(new Factory());
    assertThat(other).isNotSameAs(a);

    f.mm.putNotifier(a);
    window();
    assertThat(a.starts).as("still registered after the first put").hasValue(1);
    assertThat(factory.freed).isEmpty();

    a.blockStart = new CountDownLatch(1);
    a.inStart = new CountDownLatch(1);
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    Thread invalidator = startThread("invalidator", this::window, failures);
    await(a.inStart);
    f.mm.putNotifier(a);
    assertThat(factory.freed).as("not freed while a callback runs").isEmpty();
    Thread sync = startThread("synchronize", f.mm::synchronizeNotifiers, failures);
    awaitBlocked(sync);
    a.blockStart.countDown();
    join(sync);
    join(invalidator);

    assertThat(failures).isEmpty();
    assertThat(factory.freed).containsExactly(a);
    assertThat(a.releases).as("put does not release").hasValue(0);
    int starts = a.starts.get();
    window();
    assertThat(a.starts).hasValue(starts);
    assertThatThrownBy(() -> f.mm.putNotifier(a))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(f.mm.name());
    assertThatThrownBy(() -> f.mm.unregisterNotifier(other))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("putNotifier");
  }

  @Test
  void putAfterExit_stillFreesTheNotifier() throws Exception {
    Factory factory = new Factory();
    Recording a = f.mm.getNotifier(factory);
    f.mm.mmput();
    assertThat(a.releases).hasValue(1);

    f.mm.putNotifier(a);
    f.mm.synchronizeNotifiers();

    assertThat(factory.freed).containsExactly(a);
    assertThatThrownBy(() -> f.mm.getNotifier(factory))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
  }
}
