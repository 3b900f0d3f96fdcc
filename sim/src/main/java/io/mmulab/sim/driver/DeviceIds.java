package io.mmulab.sim.driver;

import io.mmulab.api.driver.Machine;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Device names for the coherency checker and the trace, unique per machine: {@code radeon0}, {@code
 * radeon1}, ... Numbered per machine rather than per JVM, so that a replayed run names its devices,
 * and the locks named after them, exactly as the original run did; a per-JVM counter would shift
 * every name once another run had created a device first.
 *
 * <p>One counter per machine, shared by every driver: two drivers on one machine never get the same
 * name even if they chose the same prefix. Machines are held weakly.
 */
public final class DeviceIds {
  private static final Map<Machine, AtomicInteger> NEXT =
      Collections.synchronizedMap(new WeakHashMap<>());

  private DeviceIds() {}

  /**
   * Returns the next device name of {@code machine}: {@code prefix} followed by a number counted
   * from 0 on each machine.
   *
   * @param machine the machine the device belongs to
   * @param prefix the driver's name
   * @return a name no other device of {@code machine} was given
   * @throws IllegalArgumentException if {@code prefix} is empty
   */
  public static String next(Machine machine, String prefix) {
    Objects.requireNonNull(machine, "machine is null");
    if (Objects.requireNonNull(prefix, "prefix is null").isEmpty()) {
      throw new IllegalArgumentException("empty device name prefix");
    }
    return prefix + NEXT.computeIfAbsent(machine, m -> new AtomicInteger()).getAndIncrement();
  }
}
