package io.mmulab.api.driver;

import io.mmulab.api.AddressSpace;

/**
 * A user process whose memory a device accesses, as the SPI sees it. The sim module's process
 * implements it.
 */
public interface UserProcess {
  /**
   * Returns the process's name.
   *
   * @return the name
   */
  String name();

  /**
   * Returns the process's address space.
   *
   * @return the address space
   */
  AddressSpace addressSpace();
}
