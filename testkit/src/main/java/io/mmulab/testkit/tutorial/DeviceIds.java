package io.mmulab.testkit.tutorial;

import io.mmulab.api.driver.Machine;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Checker device ids, unique per machine. Numbered per machine rather than per JVM so that a
 * replayed run names its devices (and their locks, which appear in the trace) as the original did.
 */
final class DeviceIds {
  private static final Map<Machine, AtomicInteger> NEXT =
      Collections.synchronizedMap(new WeakHashMap<>());

  private DeviceIds() {}

  static String next(Machine machine, String driver) {
    return driver + NEXT.computeIfAbsent(machine, m -> new AtomicInteger()).getAndIncrement();
  }
}
