package io.mmulab.core.sync;

import io.mmulab.api.sync.SpinLock;

final class RealSpinLock extends RealExclusiveLock implements SpinLock {
  RealSpinLock(String name) {
    super(name, false);
  }
}
