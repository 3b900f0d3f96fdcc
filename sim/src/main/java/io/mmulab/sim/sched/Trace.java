package io.mmulab.sim.sched;

import java.util.Collections;
import java.util.List;

/**
 * The labelled events of a run in the order they happened. Two runs with the same config and the
 * same choices have equal traces.
 */
public final class Trace {
  private static final int TAIL = 20;

  private final List<TraceEntry> entries;

  /**
   * Creates a trace of {@code entries}.
   *
   * @param entries the events, copied
   */
  public Trace(List<TraceEntry> entries) {
    this(entries, true);
  }

  private Trace(List<TraceEntry> entries, boolean copy) {
    this.entries = copy ? List.copyOf(entries) : Collections.unmodifiableList(entries);
  }

  /** A trace over the scheduler's own list, which nothing writes to any more: no copy. */
  static Trace adopt(List<TraceEntry> finished) {
    return new Trace(finished, false);
  }

  /**
   * Returns the events.
   *
   * @return an unmodifiable list
   */
  public List<TraceEntry> entries() {
    return entries;
  }

  /**
   * Returns the number of events.
   *
   * @return the size
   */
  public int size() {
    return entries.size();
  }

  /**
   * Returns the index of the first event where this trace and {@code other} differ.
   *
   * @param other the trace to compare with
   * @return the index, or -1 if the traces are equal
   */
  public int firstDifference(Trace other) {
    int n = Math.min(size(), other.size());
    for (int i = 0; i < n; i++) {
      if (!entries.get(i).equals(other.entries.get(i))) {
        return i;
      }
    }
    return size() == other.size() ? -1 : n;
  }

  /**
   * Renders every event, one per line.
   *
   * @return the text
   */
  public String render() {
    return render(0, size());
  }

  /**
   * Renders the events {@code [from, to)}, one per line.
   *
   * @param from first index, inclusive
   * @param to last index, exclusive
   * @return the text
   */
  public String render(int from, int to) {
    StringBuilder sb = new StringBuilder();
    for (int i = Math.max(0, from); i < Math.min(to, size()); i++) {
      sb.append(entries.get(i)).append('\n');
    }
    return sb.toString();
  }

  /**
   * Renders the last {@code n} events.
   *
   * @param n how many
   * @return the text
   */
  public String renderTail(int n) {
    return render(size() - n, size());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Trace t && entries.equals(t.entries);
  }

  @Override
  public int hashCode() {
    return entries.hashCode();
  }

  /** Returns the size and the last events: compact enough for assertion messages. */
  @Override
  public String toString() {
    return "Trace of "
        + size()
        + " events"
        + (size() > TAIL ? ", last " + TAIL : "")
        + ":\n"
        + renderTail(TAIL);
  }
}
