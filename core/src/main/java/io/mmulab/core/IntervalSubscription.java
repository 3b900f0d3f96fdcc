package io.mmulab.core;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.sync.Lockable;
import org.jspecify.annotations.Nullable;

/**
 * One interval subscription (kernel {@code struct mmu_interval_notifier}). The object is its own
 * tree node and its own deferred-list link, so a subscription costs one allocation.
 *
 * <p>Fields other than {@link #invalidateSeq} are written under the owning {@link
 * MmuNotifierSubscriptions}' lock. {@code invalidateSeq} is always odd; it is written under that
 * lock by insert, and by the driver in {@link #setSeq} under the driver's update lock, and read
 * under the update lock ({@link #readRetry}) or without any lock ({@link #checkRetry}) — hence
 * volatile.
 */
final class IntervalSubscription extends IntervalTree.Node implements MmuIntervalNotifier {
  final MmuNotifierSubscriptions subscriptions;
  final MmuIntervalNotifierOps ops;
  final @Nullable Lockable updateLock;
  volatile long invalidateSeq;

  @Nullable IntervalSubscription deferredNext;
  @Nullable IntervalSubscription deferredPrev;
  boolean onDeferredList;
  // Written under the subscriptions lock; volatile so readBegin can test it without the lock.
  volatile boolean removeCalled;

  IntervalSubscription(
      MmuNotifierSubscriptions subscriptions,
      long start,
      long last,
      MmuIntervalNotifierOps ops,
      @Nullable Lockable updateLock) {
    this.subscriptions = subscriptions;
    this.ops = ops;
    this.updateLock = updateLock;
    setInterval(start, last);
  }

  @Override
  public AddressSpace addressSpace() {
    return subscriptions.mm();
  }

  @Override
  public long readBegin() {
    return subscriptions.readBegin(this);
  }

  @Override
  public boolean readRetry(long seq) {
    subscriptions.checkUpdateLockHeld(this, "readRetry");
    if (removeCalled) {
      throw new LockRuleViolation(LockRule.USE_AFTER_REMOVE, "readRetry on removed " + this);
    }
    long now = invalidateSeq;
    subscriptions.journal(() -> "readRetry " + this + ": " + collision(seq, now));
    return now != seq;
  }

  @Override
  public boolean checkRetry(long seq) {
    long now = invalidateSeq;
    subscriptions.journal(() -> "checkRetry " + this + ": " + collision(seq, now));
    return now != seq;
  }

  private static String collision(long seq, long now) {
    return now == seq ? "seq " + seq + " unchanged" : "seq " + seq + " is now " + now + ", retry";
  }

  @Override
  public void setSeq(long curSeq) {
    subscriptions.checkSetSeq(this, curSeq);
    invalidateSeq = curSeq;
    subscriptions.journal(() -> "setSeq " + this + ": seq " + curSeq);
  }

  @Override
  public void remove() {
    subscriptions.remove(this);
  }

  @Override
  public String toString() {
    return "interval[0x"
        + Long.toHexString(start())
        + ", 0x"
        + Long.toHexString(last())
        + "] of "
        + subscriptions.mm().name();
  }
}
