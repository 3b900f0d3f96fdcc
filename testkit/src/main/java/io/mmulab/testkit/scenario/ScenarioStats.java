package io.mmulab.testkit.scenario;

import io.mmulab.api.Errno;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * How the device calls of runs ended, by verb and errno: {@code "read ok"}, {@code "read EFAULT"}…
 * Thread-safe; merged over the seeds of a sweep.
 */
public final class ScenarioStats {
  private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

  /** An empty tally. */
  public ScenarioStats() {}

  void ok(String verb) {
    add(verb + " ok", 1);
  }

  void failed(String verb, Errno errno) {
    add(verb + " " + errno, 1);
  }

  /**
   * Adds another tally to this one.
   *
   * @param other counts to add
   */
  public void addAll(Map<String, Long> other) {
    other.forEach(this::add);
  }

  private void add(String key, long n) {
    counts.computeIfAbsent(key, k -> new LongAdder()).add(n);
  }

  /**
   * Returns the counts.
   *
   * @return sorted by key, a copy
   */
  public Map<String, Long> snapshot() {
    Map<String, Long> out = new TreeMap<>();
    counts.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  @Override
  public String toString() {
    return snapshot().toString();
  }
}
