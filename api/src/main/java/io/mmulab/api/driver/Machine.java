package io.mmulab.api.driver;

import io.mmulab.api.sync.SyncRuntime;

/**
 * The simulated machine a driver's device lives on, as the SPI sees it. The sim module's machine
 * implements it; a driver module, which depends on sim, obtains the full machine from it.
 */
public interface Machine {
  /**
   * Returns the runtime every lock, wait and thread of this machine comes from.
   *
   * @return the runtime
   */
  SyncRuntime runtime();
}
