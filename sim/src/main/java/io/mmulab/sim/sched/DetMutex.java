package io.mmulab.sim.sched;

import io.mmulab.api.sync.Mutex;

final class DetMutex extends DetExclusiveLock implements Mutex {
  DetMutex(Scheduler s, String name) {
    super(s, name, true);
  }
}
