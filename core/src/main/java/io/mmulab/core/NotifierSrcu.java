package io.mmulab.core;

import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.WaitQueue;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * The grace-period mechanism that protects classic notifiers (the kernel's {@code srcu} of {@code
 * mm/mmu_notifier.c}). Every classic callback runs inside a read-side section; {@link #synchronize}
 * waits for every section that began before it, {@link #callAfterGracePeriod} runs an action (a
 * notifier's free) once they have ended, and {@link #barrier} waits for every such action queued so
 * far.
 *
 * <p>Deliberate difference: the kernel has one for the machine, we have one per address space. A
 * classic notifier's callbacks all run in sections of its own address space, so unregister and put
 * wait for exactly the sections that matter; {@code synchronizeNotifiers} waits for the frees of
 * notifiers put on that address space. One per runtime would need state shared across address
 * spaces, which the model-checked tests (Lincheck) cannot snapshot.
 *
 * <h2>Locking</h2>
 *
 * The state is guarded by this object's monitor, never held across a wait or a callback: it is
 * bookkeeping, not a lock of the modelled kernel, so taking it is no scheduling point under the
 * deterministic runtime. Sections are numbered in the order they begin; a grace period that began
 * when the next number was {@code t} is over once no open section has a number below {@code t}.
 * Queued actions run on the thread that ends the last section they waited for (or at once if none
 * was open), outside the monitor. Sleepers are woken only when some thread waits, so sections cost
 * no scheduling point in the common case.
 */
final class NotifierSrcu {
  private record Pending(long ticket, Runnable action) {}

  private final WaitQueue wq;
  private final TreeSet<Long> open = new TreeSet<>();
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private long nextTicket;
  private int running;
  private int waiters;

  NotifierSrcu(SyncRuntime runtime, String name) {
    this.wq = runtime.newWaitQueue(name + ".mmu_notifier.srcu");
  }

  /** Begins a read-side section (kernel {@code srcu_read_lock}); returns its number. */
  long readLock() {
    synchronized (this) {
      long t = nextTicket++;
      open.add(t);
      return t;
    }
  }

  /** Ends the section {@code ticket}; runs the queued actions whose grace period is now over. */
  void readUnlock(long ticket) {
    @Nullable List<Runnable> due;
    boolean wake;
    synchronized (this) {
      open.remove(ticket);
      due = takeDue();
      wake = waiters > 0;
    }
    runDue(due);
    if (wake) {
      wq.wakeUpAll();
    }
  }

  /** Waits for every section open now to end (kernel {@code synchronize_srcu}). */
  void synchronize() {
    checkNotInCallback("synchronize");
    long t;
    synchronized (this) {
      t = nextTicket;
      if (open.isEmpty() || open.first() >= t) {
        return;
      }
      waiters++;
    }
    try {
      wq.waitEvent(() -> graceOver(t));
    } finally {
      synchronized (this) {
        waiters--;
      }
    }
  }

  /** Runs {@code action} once every section open now has ended (kernel {@code call_srcu}). */
  void callAfterGracePeriod(Runnable action) {
    @Nullable List<Runnable> due;
    synchronized (this) {
      pending.add(new Pending(nextTicket, action));
      due = takeDue();
    }
    runDue(due);
  }

  /** Waits until every action queued so far has run (kernel {@code srcu_barrier}). */
  void barrier() {
    checkNotInCallback("synchronizeNotifiers");
    synchronized (this) {
      if (pending.isEmpty() && running == 0) {
        return;
      }
      waiters++;
    }
    try {
      wq.waitEvent(this::drained);
    } finally {
      synchronized (this) {
        waiters--;
      }
    }
  }

  private synchronized boolean graceOver(long t) {
    return open.isEmpty() || open.first() >= t;
  }

  private synchronized boolean drained() {
    return pending.isEmpty() && running == 0;
  }

  /** Caller holds the monitor. */
  private @Nullable List<Runnable> takeDue() {
    List<Runnable> due = null;
    while (!pending.isEmpty() && (open.isEmpty() || open.first() >= pending.peek().ticket())) {
      if (due == null) {
        due = new ArrayList<>(2);
      }
      due.add(pending.poll().action());
      running++;
    }
    return due;
  }

  private void runDue(@Nullable List<Runnable> due) {
    if (due == null) {
      return;
    }
    boolean wake;
    try {
      for (Runnable r : due) {
        r.run();
      }
    } finally {
      synchronized (this) {
        running -= due.size();
        wake = waiters > 0;
      }
    }
    if (wake) {
      wq.wakeUpAll();
    }
  }

  static void checkNotInCallback(String op) {
    ThreadState.CallbackFrame frame = ThreadState.current().innermostCallback();
    if (frame != null) {
      throw new LockRuleViolation(
          LockRule.GRACE_PERIOD_IN_CALLBACK,
          op + " waits for a grace period from inside the callback of " + frame.who());
    }
  }
}
