package io.mmulab.sim.check;

import static io.mmulab.sim.check.CoherencyChecker.NO_PFN;
import static io.mmulab.sim.check.Format.hex;

import io.mmulab.api.driver.ViolationKind;
import org.jspecify.annotations.Nullable;

/**
 * {@link ViolationKind#LIFETIME}: nothing may happen through a context that is gone.
 *
 * <ul>
 *   <li>A torn-down device has no more events (until {@code declareDevice} starts a new device with
 *       its id): checked at every device event.
 *   <li>No invalidate callback runs for a subscription after its {@code remove()} returned, nor,
 *       for a callback that names no subscription, after all of the device's subscriptions were
 *       removed: checked at {@code invalidateCallbackEntered} and {@code
 *       invalidateCallbackReturned}.
 *   <li>No device maps or accesses an address whose covering subscriptions were all removed (or
 *       after all of its subscriptions were removed): checked at {@code deviceMapped} and {@code
 *       deviceAccess}.
 * </ul>
 */
final class LifetimeRule {
  private final EventLog log;

  LifetimeRule(EventLog log) {
    this.log = log;
  }

  /**
   * Reports {@code what} the device does if it is torn down.
   *
   * @param what the event in words, the start of the message
   */
  void checkNotTornDown(Device d, @Nullable String mm, long va, String what) {
    if (d.tornDown) {
      reportTornDown(d, mm, va, what);
    }
  }

  /**
   * A mapping or access at {@code va}: the device must be live and, if subscriptions ever covered
   * {@code va}, one of them still must.
   *
   * @param verb "maps" or "accesses", the start of the message
   */
  void checkUse(Device d, String verb, String mm, long va, long pfn) {
    if (d.tornDown) {
      reportTornDown(d, mm, va, verb + " va " + hex(va));
    } else {
      checkCoverage(d, mm, va, pfn);
    }
  }

  /** An invalidate callback entered or returning. */
  void checkCallback(Device d, @Nullable String subscription, String mm, long start) {
    checkNotTornDown(d, mm, start, "invalidate callback");
    if (subscription != null) {
      Subscription s = d.subs.get(subscription);
      if (s != null && s.removed) {
        log.violation(
            ViolationKind.LIFETIME,
            d.id,
            mm,
            start,
            NO_PFN,
            "invalidate callback of subscription "
                + subscription
                + " after its remove() returned at #"
                + s.removedTick);
      }
    } else if (d.allSubsRemoved) {
      log.violation(
          ViolationKind.LIFETIME,
          d.id,
          mm,
          start,
          NO_PFN,
          "invalidate callback after all subscriptions were removed at #" + d.allSubsRemovedTick);
    }
  }

  private void reportTornDown(Device d, @Nullable String mm, long va, String what) {
    log.violation(
        ViolationKind.LIFETIME,
        d.id,
        mm,
        va,
        NO_PFN,
        what + " after the device was torn down at #" + d.tornDownTick);
  }

  /** An address whose covering subscriptions were all removed is no longer protected. */
  private void checkCoverage(Device d, String mm, long va, long pfn) {
    Subscription removedCover = null;
    for (Subscription s : d.subs.values()) {
      if (s.covers(mm, va)) {
        if (!s.removed) {
          return;
        }
        removedCover = s;
      }
    }
    if (removedCover != null) {
      log.violation(
          ViolationKind.LIFETIME,
          d.id,
          mm,
          va,
          pfn,
          "uses va "
              + hex(va)
              + " after subscription "
              + removedCover.name
              + " covering it was removed at #"
              + removedCover.removedTick
              + " and no live subscription covers it");
    } else if (d.allSubsRemoved) {
      log.violation(
          ViolationKind.LIFETIME,
          d.id,
          mm,
          va,
          pfn,
          "uses va "
              + hex(va)
              + " after all its subscriptions were removed at #"
              + d.allSubsRemovedTick);
    }
  }
}
