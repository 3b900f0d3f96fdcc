package io.mmulab.core.sync;

import io.mmulab.api.sync.Mutex;

final class RealMutex extends RealExclusiveLock implements Mutex {
  RealMutex(String name) {
    super(name, true);
  }
}
