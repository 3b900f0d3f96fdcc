package io.mmulab.driver.radeon;

import io.mmulab.api.driver.Machine;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * GPU names, unique per machine: numbered per machine rather than per JVM, so a replayed run names
 * its devices and locks (which appear in traces) as the original did.
 */
final class RadeonDeviceIds {
  private static final Map<Machine, AtomicInteger> NEXT =
      Collections.synchronizedMap(new WeakHashMap<>());

  private RadeonDeviceIds() {}

  static String next(Machine machine) {
    return RadeonFactory.NAME
        + NEXT.computeIfAbsent(machine, m -> new AtomicInteger()).getAndIncrement();
  }
}
