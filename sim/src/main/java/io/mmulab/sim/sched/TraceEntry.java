package io.mmulab.sim.sched;

import java.util.Objects;

/**
 * One labelled event of a deterministic run.
 *
 * @param step how many scheduling points the run had passed when the event happened
 * @param nanos the virtual time of the event
 * @param thread the simulated thread it belongs to
 * @param label what happened, such as {@code yield afterGup}, {@code lock mm#1.mmap_lock}, {@code
 *     acquired ...}, {@code unlock ...}, {@code wait ...}, {@code wake_up_all ...}, {@code spawn
 *     ...}, {@code end}
 */
public record TraceEntry(long step, long nanos, String thread, String label) {
  /**
   * Validates the entry.
   *
   * @throws NullPointerException if a name is null
   */
  public TraceEntry {
    Objects.requireNonNull(thread, "thread is null");
    Objects.requireNonNull(label, "label is null");
  }

  @Override
  public String toString() {
    return "#" + step + " @" + nanos + "ns " + thread + ": " + label;
  }
}
