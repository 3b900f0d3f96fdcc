package io.mmulab.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.core.sync.RealSyncRuntime;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real-thread stress test of {@link MmuNotifierSubscriptions} with drivers that follow the
 * collision-retry pattern (docs/notifier.md, invariants 2–5, 9–10, 16–17, 21, 29).
 *
 * <p>The model: a small address domain of {@value #PAGES} pages whose "CPU page table" is one
 * generation number per page. Invalidators bump the generations of a range strictly between start
 * and end (with nested and overlapping windows, and non-blocking starts that may fail with EAGAIN).
 * Owner threads insert and remove subscriptions over small ranges and populate their device tables
 * with the collision-retry pattern. A device entry holds the generation it was programmed from; it
 * is stale if it is set and differs from the page's current generation.
 *
 * <p>Checked while running: a callback never finds a stale entry and never runs after {@code
 * remove} returned; a reader that passed {@code readRetry} holds a snapshot equal to the current
 * page table; inside an open window every live subscription's entries in the range are zapped; the
 * checker thread sees a consistent container and no stale entry. At the end: no thread failed, the
 * container is idle and consistent, the tree holds exactly the live subscriptions, the mm count
 * balances, and no device entry is stale.
 *
 * <p>Every thread's random choices come from {@code mmulab.seed} (printed in every failure); the
 * interleaving itself is up to the machine.
 */
class SubscriptionsStressTest {
  private static final long SEED = Long.getLong("mmulab.seed", 0x5EED_57E55L);

  private static final int PAGES = 32;
  private static final long PAGE = 0x1000;
  private static final long BASE = 0x40_0000;
  private static final long NONE = 0;

  private static final int OWNERS = 4;
  private static final int INVALIDATORS = 3;
  private static final int OWNER_OPS = 100_000;

  /**
   * Upper bound of windows per invalidator; they also stop as soon as every owner is done, and
   * pause now and then so that the container goes idle: back-to-back overlapping windows from three
   * threads keep the sequence odd indefinitely and starve every reader and remover (as in the
   * kernel), which would leave the owners' side of the races untested.
   */
  private static final int INVALIDATOR_WINDOWS = 200_000;

  private static final int MAX_SUBS_PER_OWNER = 4;
  private static final int READER_TRIES = 20;

  /** Soft cap: every worker stops early after this long, so the test stays short on busy hosts. */
  private static final long WORK_BUDGET_NANOS = TimeUnit.SECONDS.toNanos(8);

  private static final long JOIN_TIMEOUT_MILLIS = 30_000;

  private static final MmuNotifierEvent[] EVENTS = {
    MmuNotifierEvent.UNMAP,
    MmuNotifierEvent.CLEAR,
    MmuNotifierEvent.PROTECTION_VMA,
    MmuNotifierEvent.PROTECTION_PAGE,
    MmuNotifierEvent.MIGRATE,
  };

  /** Everything the threads share. */
  private static final class Shared {
    final MmStruct mm = new MmStruct(RealSyncRuntime.get());
    final AtomicLongArray cpu = new AtomicLongArray(PAGES);
    final Set<DeviceSub> live = ConcurrentHashMap.newKeySet();
    final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    final CountDownLatch ownersDone = new CountDownLatch(OWNERS);
    final Map<String, Throwable> thrown = new ConcurrentHashMap<>();
    final long deadline = System.nanoTime() + WORK_BUDGET_NANOS;
    final AtomicInteger subIds = new AtomicInteger();

    final AtomicLong inserts = new AtomicLong();
    final AtomicLong removes = new AtomicLong();
    final AtomicLong populated = new AtomicLong();
    final AtomicLong retries = new AtomicLong();
    final AtomicLong readBeginWaits = new AtomicLong();
    final AtomicLong gaveUp = new AtomicLong();
    final AtomicLong windows = new AtomicLong();
    final AtomicLong nestedWindows = new AtomicLong();
    final AtomicLong nonblockOk = new AtomicLong();
    final AtomicLong eagain = new AtomicLong();
    final AtomicLong callbacks = new AtomicLong();
    final AtomicLong declined = new AtomicLong();
    final AtomicLong checks = new AtomicLong();

    Shared() {
      for (int p = 0; p < PAGES; p++) {
        cpu.set(p, 1);
      }
    }

    void fail(String message) {
      failures.add(
          "[mmulab.seed=" + SEED + ", " + Thread.currentThread().getName() + "] " + message);
    }

    boolean outOfTime() {
      return System.nanoTime() - deadline > 0 || failures.size() > 20;
    }

    String stats() {
      return String.format(
          "inserts=%d removes=%d populated=%d retries=%d readBeginWaits~%d gaveUp=%d windows=%d"
              + " nested=%d"
              + " nonblockOk=%d eagain=%d callbacks=%d declined=%d checks=%d",
          inserts.get(),
          removes.get(),
          populated.get(),
          retries.get(),
          readBeginWaits.get(),
          gaveUp.get(),
          windows.get(),
          nestedWindows.get(),
          nonblockOk.get(),
          eagain.get(),
          callbacks.get(),
          declined.get(),
          checks.get());
    }
  }

  /**
   * One driver object: a subscription over pages {@code [first, last]}, its update lock and its
   * device page table ({@code device[i]} maps page {@code first + i}; guarded by {@code update}).
   */
  private static final class DeviceSub {
    final Shared shared;
    final int id;
    final int first;
    final int last;
    final Mutex update;
    final long[] device;
    volatile MmuIntervalNotifier sub; // set by the owner once insert returned
    volatile boolean removeReturned;

    DeviceSub(Shared shared, int first, int last) {
      this.shared = shared;
      this.id = shared.subIds.incrementAndGet();
      this.first = first;
      this.last = last;
      this.update = RealSyncRuntime.get().newMutex("dev" + id + ".update");
      this.device = new long[last - first + 1];
    }

    /** The invalidate callback (the invalidate side), with the checks of invariants 16 and 29. */
    boolean invalidate(MmuIntervalNotifier s, MmuNotifierRange range, long curSeq) {
      long n = shared.callbacks.incrementAndGet();
      if (removeReturned) {
        shared.fail("callback for " + this + " after its remove returned, range " + range);
      }
      MmuIntervalNotifier mine = sub; // null while insert has not returned yet
      if (mine != null && s != mine) {
        shared.fail("callback of " + this + " received another subscription " + s);
      }
      if (range.blockable()) {
        update.lock();
      } else if (!update.tryLock()) {
        shared.declined.incrementAndGet();
        return false;
      }
      try {
        s.setSeq(curSeq);
        int from = Math.max(first, pageOf(range.start()));
        int to = Math.min(last, pageOf(range.last()));
        for (int p = from; p <= to; p++) {
          long d = device[p - first];
          long g = shared.cpu.get(p);
          if (d != NONE && d != g) {
            shared.fail(
                "callback for "
                    + range
                    + " found a stale entry in "
                    + this
                    + ": page "
                    + p
                    + " maps generation "
                    + d
                    + " but the CPU has "
                    + g);
          }
          device[p - first] = NONE; // zap, "flush the device TLB"
        }
        if (range.blockable() && n % 8 == 0) {
          Thread.yield(); // a slow device flush: readers and non-blocking starts meet the lock
        }
      } finally {
        update.unlock();
      }
      return true;
    }

    /** The populate side (the fault side) with a bounded number of tries. */
    void populate(SplittableRandom rnd) {
      long[] snapshot = new long[device.length];
      for (int attempt = 0; attempt < READER_TRIES; attempt++) {
        if (((IntervalSubscription) sub).invalidateSeq
            == shared.mm.notifierSubscriptions().invalidateSeq()) {
          shared.readBeginWaits.incrementAndGet(); // (racy) statistics: readBegin will sleep
        }
        long seq = sub.readBegin();
        for (int i = 0; i < snapshot.length; i++) {
          snapshot[i] = shared.cpu.get(first + i);
        }
        if (rnd.nextInt(8) == 0) {
          Thread.yield(); // widen the race between the snapshot and the update lock
        }
        if (sub.checkRetry(seq)) { // the lock-free early exit, as hmm_range_fault does
          shared.retries.incrementAndGet();
          continue;
        }
        update.lock();
        try {
          if (sub.readRetry(seq)) {
            shared.retries.incrementAndGet();
            continue;
          }
          for (int i = 0; i < snapshot.length; i++) {
            long g = shared.cpu.get(first + i);
            if (snapshot[i] != g) {
              shared.fail(
                  "readRetry passed for "
                      + this
                      + " with a stale snapshot: page "
                      + (first + i)
                      + " read as generation "
                      + snapshot[i]
                      + " but the CPU has "
                      + g);
            }
            device[i] = snapshot[i];
          }
          shared.populated.incrementAndGet();
          return;
        } finally {
          update.unlock();
        }
      }
      shared.gaveUp.incrementAndGet();
    }

    /**
     * Under the update lock: no entry is stale; with {@code mustBeZapped}, none in the range is
     * set.
     */
    void check(String when, int from, int to, boolean mustBeZapped) {
      update.lock();
      try {
        for (int p = Math.max(from, first); p <= Math.min(to, last); p++) {
          long d = device[p - first];
          long g = shared.cpu.get(p);
          if (mustBeZapped ? d != NONE : d != NONE && d != g) {
            shared.fail(
                when
                    + ": "
                    + this
                    + " maps page "
                    + p
                    + " to generation "
                    + d
                    + " while the CPU has "
                    + g
                    + (mustBeZapped ? " (the entry must be zapped inside the window)" : ""));
          }
        }
      } finally {
        update.unlock();
      }
    }

    void zapAll() {
      update.lock();
      try {
        Arrays.fill(device, NONE);
      } finally {
        update.unlock();
      }
    }

    @Override
    public String toString() {
      return "dev" + id + "[pages " + first + ".." + last + "]";
    }
  }

  private static long addr(int page) {
    return BASE + page * PAGE;
  }

  /** The page of an address inside the domain (every range of this test lies inside it). */
  private static int pageOf(long address) {
    return (int) ((address - BASE) / PAGE);
  }

  private static long seedOf(int thread) {
    return SEED + 0x9E37_79B9_7F4A_7C15L * (thread + 1);
  }

  // -----------------------------------------------------------------------------------------------
  // Workers

  /** Inserts, populates and removes its own subscriptions. */
  private static void owner(Shared s, SplittableRandom rnd) {
    List<DeviceSub> mine = new ArrayList<>();
    for (int op = 0; op < OWNER_OPS && !s.outOfTime(); op++) {
      int dice = rnd.nextInt(100);
      if (mine.isEmpty() || (dice < 15 && mine.size() < MAX_SUBS_PER_OWNER)) {
        mine.add(insert(s, rnd));
      } else if (dice < 22) {
        remove(s, mine.remove(rnd.nextInt(mine.size())));
      } else if (dice < 25) {
        // Insert and remove at once: often both inside one window (deferred insert then unlink).
        remove(s, insert(s, rnd));
      } else {
        mine.get(rnd.nextInt(mine.size())).populate(rnd);
      }
    }
    // The survivors stay subscribed for the final checks.
  }

  private static DeviceSub insert(Shared s, SplittableRandom rnd) {
    int first = rnd.nextInt(PAGES);
    int last = Math.min(PAGES - 1, first + rnd.nextInt(4));
    DeviceSub d = new DeviceSub(s, first, last);
    try {
      d.sub =
          s.mm.insertIntervalNotifier(
              addr(first), addr(last + 1) - addr(first), d::invalidate, d.update);
    } catch (ErrnoException e) {
      throw new AssertionError("insert of " + d + " failed", e);
    }
    s.live.add(d);
    s.inserts.incrementAndGet();
    return d;
  }

  private static void remove(Shared s, DeviceSub d) {
    d.zapAll(); // a driver tears its mapping down before unsubscribing
    s.live.remove(d);
    d.sub.remove();
    d.removeReturned = true;
    s.removes.incrementAndGet();
  }

  /** Opens windows (some nested, some non-blocking) and changes the CPU page table inside them. */
  private static void invalidator(Shared s, SplittableRandom rnd) {
    for (int w = 0; w < INVALIDATOR_WINDOWS && s.ownersDone.getCount() > 0 && !s.outOfTime(); w++) {
      int[] r = randomRange(rnd);
      MmuNotifierRange range = range(s, rnd, r);
      int dice = rnd.nextInt(100);
      if (dice < 20) {
        // The OOM reaper's way: non-blocking start; on EAGAIN no page change and no end.
        try {
          s.mm.invalidateRangeStartNonblock(range);
        } catch (ErrnoException e) {
          if (e.errno() != Errno.EAGAIN) {
            s.fail("non-blocking start of " + range + " failed with " + e.errno());
          }
          s.eagain.incrementAndGet();
          continue;
        }
        s.nonblockOk.incrementAndGet();
        changeAndCheck(s, range, r);
        s.mm.invalidateRangeEnd(range);
      } else {
        s.mm.invalidateRangeStart(range);
        checkZapped(s, "after start of " + range, r);
        if (dice < 45) {
          // A nested window on this thread, possibly overlapping the outer one.
          int[] r2 = randomRange(rnd);
          MmuNotifierRange inner = range(s, rnd, r2);
          s.mm.invalidateRangeStart(inner);
          changeAndCheck(s, inner, r2);
          s.mm.invalidateRangeEnd(inner);
          s.nestedWindows.incrementAndGet();
        }
        if (rnd.nextInt(4) == 0) {
          Thread.yield(); // let readers and inserters run into the open window
        }
        changeAndCheck(s, range, r);
        s.mm.invalidateRangeEnd(range);
      }
      s.windows.incrementAndGet();
      if (rnd.nextInt(8) == 0) {
        LockSupport.parkNanos(rnd.nextInt(100_000)); // a gap: the container can go idle
      }
    }
  }

  private static int[] randomRange(SplittableRandom rnd) {
    if (rnd.nextInt(50) == 0) {
      return new int[] {0, PAGES - 1};
    }
    int first = rnd.nextInt(PAGES);
    int last = Math.min(PAGES - 1, first + rnd.nextInt(8));
    return new int[] {first, last};
  }

  private static MmuNotifierRange range(Shared s, SplittableRandom rnd, int[] r) {
    return MmuNotifierRange.of(
        s.mm, EVENTS[rnd.nextInt(EVENTS.length)], addr(r[0]), addr(r[1] + 1));
  }

  /** The page-table change of a window, then the check that the device did not keep old pages. */
  private static void changeAndCheck(Shared s, MmuNotifierRange range, int[] r) {
    for (int p = r[0]; p <= r[1]; p++) {
      s.cpu.incrementAndGet(p);
    }
    checkZapped(s, "after the page change of " + range, r);
  }

  /**
   * Inside an open window, every live subscription's entries in the range are zapped: the
   * subscriptions hit by the window were zapped by their callback and cannot be repopulated until
   * the window ends ({@code readBegin} sleeps), and those inserted after the window's lookup were
   * never populated.
   */
  private static void checkZapped(Shared s, String when, int[] r) {
    for (DeviceSub d : s.live) {
      if (d.first <= r[1] && r[0] <= d.last) {
        d.check(when, r[0], r[1], true);
      }
    }
    s.checks.incrementAndGet();
  }

  /** Runs structural and device checks concurrently with everything else. */
  private static void checker(Shared s, CountDownLatch workersDone) {
    MmuNotifierSubscriptions subs = s.mm.notifierSubscriptions();
    while (workersDone.getCount() > 0 && !s.outOfTime()) {
      try {
        subs.checkConsistency();
      } catch (IllegalStateException e) {
        s.fail("checkConsistency while running: " + e.getMessage());
      }
      long seq = subs.invalidateSeq();
      if ((seq & 1) != 0 && subs.activeInvalidateRanges() == 0 && subs.invalidateSeq() == seq) {
        s.fail("seq " + seq + " odd although no invalidation is open");
      }
      for (DeviceSub d : s.live) {
        d.check("checker", 0, PAGES - 1, false);
      }
      s.checks.incrementAndGet();
      LockSupport.parkNanos(200_000);
    }
  }

  // -----------------------------------------------------------------------------------------------

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS)
  void ownersReadersAndInvalidators_manyThreads_keepContainerConsistentAndNoStaleMapping()
      throws InterruptedException {
    Shared s = new Shared();
    CountDownLatch start = new CountDownLatch(1);
    CountDownLatch workersDone = new CountDownLatch(OWNERS + INVALIDATORS);
    List<Thread> threads = new ArrayList<>();
    int index = 0;
    for (int i = 0; i < OWNERS; i++) {
      SplittableRandom rnd = new SplittableRandom(seedOf(index++));
      threads.add(
          worker(
              s,
              "stress-owner-" + i,
              start,
              workersDone,
              () -> {
                try {
                  owner(s, rnd);
                } finally {
                  s.ownersDone.countDown();
                }
              }));
    }
    for (int i = 0; i < INVALIDATORS; i++) {
      SplittableRandom rnd = new SplittableRandom(seedOf(index++));
      threads.add(
          worker(s, "stress-invalidator-" + i, start, workersDone, () -> invalidator(s, rnd)));
    }
    threads.add(worker(s, "stress-checker", start, null, () -> checker(s, workersDone)));
    threads.forEach(Thread::start);
    long t0 = System.nanoTime();
    start.countDown();

    long joinDeadline = System.currentTimeMillis() + JOIN_TIMEOUT_MILLIS;
    for (Thread t : threads) {
      t.join(Math.max(1, joinDeadline - System.currentTimeMillis()));
    }
    List<Thread> stuck = threads.stream().filter(Thread::isAlive).toList();
    assertThat(stuck)
        .as(
            "mmulab.seed=%d: threads still running after %d ms (deadlock or lost wake-up?)%n%s%n%s",
            SEED, JOIN_TIMEOUT_MILLIS, s.stats(), dumpThreads(threads))
        .isEmpty();
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    System.out.printf(
        "SubscriptionsStressTest mmulab.seed=%d: %d ms, %s%n", SEED, millis, s.stats());

    assertThat(s.thrown)
        .as("mmulab.seed=%d: exceptions thrown by threads%n%s", SEED, stackTraces(s.thrown))
        .isEmpty();
    assertThat(s.failures)
        .as("mmulab.seed=%d: invariant violations (%s)", SEED, s.stats())
        .isEmpty();

    // Idle and consistent.
    MmuNotifierSubscriptions subs = s.mm.notifierSubscriptions();
    subs.checkConsistency();
    assertThat(subs.activeInvalidateRanges()).as("mmulab.seed=%d: open windows", SEED).isZero();
    assertThat(subs.invalidateSeq() & 1)
        .as("mmulab.seed=%d: seq %d even", SEED, subs.invalidateSeq())
        .isZero();
    assertThat(subs.deferredMembers()).as("mmulab.seed=%d: deferred list", SEED).isEmpty();
    Set<MmuIntervalNotifier> expected = Collections.newSetFromMap(new IdentityHashMap<>());
    s.live.forEach(d -> expected.add(d.sub));
    assertThat(subs.treeMembers())
        .as("mmulab.seed=%d: tree members are exactly the live subscriptions", SEED)
        .doesNotHaveDuplicates()
        .containsExactlyInAnyOrderElementsOf(expected);
    assertThat(s.mm.mmCount())
        .as("mmulab.seed=%d: mm count = 1 + live subscriptions", SEED)
        .isEqualTo(1 + s.live.size());
    assertThat(s.mm.warnings()).as("mmulab.seed=%d: core warnings", SEED).isEmpty();
    for (DeviceSub d : s.live) {
      d.check("final", 0, PAGES - 1, false);
    }
    assertThat(s.failures).as("mmulab.seed=%d: stale device mappings at the end", SEED).isEmpty();

    // The workload really exercised the interesting paths.
    assertThat(s.windows.get()).as("mmulab.seed=%d: %s", SEED, s.stats()).isPositive();
    assertThat(s.populated.get()).as("mmulab.seed=%d: %s", SEED, s.stats()).isPositive();
    assertThat(s.removes.get()).as("mmulab.seed=%d: %s", SEED, s.stats()).isPositive();
    assertThat(s.callbacks.get()).as("mmulab.seed=%d: %s", SEED, s.stats()).isPositive();

    // Tear down: every remaining subscription leaves at once (idle), balancing the mm count.
    for (DeviceSub d : List.copyOf(s.live)) {
      remove(s, d);
    }
    subs.checkConsistency();
    assertThat(subs.treeMembers()).as("mmulab.seed=%d: tree after removing all", SEED).isEmpty();
    assertThat(s.mm.mmCount()).as("mmulab.seed=%d: mm count after removing all", SEED).isEqualTo(1);
  }

  private static Thread worker(
      Shared s, String name, CountDownLatch start, CountDownLatch done, Runnable body) {
    Thread t =
        new Thread(
            () -> {
              try {
                start.await();
                body.run();
              } catch (Throwable e) {
                s.thrown.put(name, e);
                s.fail("threw " + e);
              } finally {
                if (done != null) {
                  done.countDown();
                }
              }
            },
            name);
    t.setDaemon(true);
    return t;
  }

  private static String stackTraces(Map<String, Throwable> thrown) {
    StringWriter out = new StringWriter();
    try (PrintWriter pw = new PrintWriter(out)) {
      thrown.forEach(
          (name, t) -> {
            pw.println(name + ":");
            t.printStackTrace(pw);
          });
    }
    return out.toString();
  }

  /** Full stacks of the test's threads, with the lock each one waits for and who owns it. */
  private static String dumpThreads(List<Thread> threads) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    StringBuilder sb = new StringBuilder();
    long[] deadlocked = mx.findDeadlockedThreads();
    sb.append("JVM-detected deadlock: ")
        .append(deadlocked == null ? "none" : deadlocked.length + " threads")
        .append('\n');
    for (Thread t : threads) {
      ThreadInfo info = mx.getThreadInfo(new long[] {t.getId()}, true, true)[0];
      sb.append('"').append(t.getName()).append("\" ").append(t.getState());
      if (info != null && info.getLockName() != null) {
        sb.append(" waiting for ").append(info.getLockName());
        if (info.getLockOwnerName() != null) {
          sb.append(" owned by \"").append(info.getLockOwnerName()).append('"');
        }
      }
      sb.append('\n');
      for (StackTraceElement e : t.getStackTrace()) {
        sb.append("    at ").append(e).append('\n');
      }
    }
    return sb.toString();
  }
}
