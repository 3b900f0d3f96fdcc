package io.mmulab.sim.sched;

import io.mmulab.api.sync.SpinLock;

/** A spin lock: a thread that finds it taken is modelled as blocked until the holder releases. */
final class DetSpinLock extends DetExclusiveLock implements SpinLock {
  DetSpinLock(Scheduler s, String name) {
    super(s, name, false);
  }
}
