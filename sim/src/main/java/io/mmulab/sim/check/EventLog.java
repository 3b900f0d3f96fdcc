package io.mmulab.sim.check;

import io.mmulab.api.driver.ViolationKind;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Numbers the events, keeps the last ones in a ring and records violations with a rendering of that
 * ring. Not thread-safe: the checker's lock guards it.
 */
final class EventLog {
  private final int traceLength;
  private final int maxViolations;

  /** The last events, rendered only when a violation or a caller asks for them. */
  private final ArrayDeque<Event> trace;

  private final List<Violation> violations = new ArrayList<>();
  private long reported;
  private long tick;
  private @Nullable Consumer<String> journal;

  EventLog(int traceLength, int maxViolations) {
    if (traceLength < 1) {
      throw new IllegalArgumentException("traceLength " + traceLength + " is below 1");
    }
    if (maxViolations < 1) {
      throw new IllegalArgumentException("maxViolations " + maxViolations + " is below 1");
    }
    this.traceLength = traceLength;
    this.maxViolations = maxViolations;
    this.trace = new ArrayDeque<>(traceLength);
  }

  /**
   * Records an event and returns its number. The text is a supplier because every device access and
   * PTE change is an event while only the few before a violation are ever read.
   */
  long record(Supplier<String> event) {
    tick++;
    if (trace.size() == traceLength) {
      trace.removeFirst();
    }
    Event e = new Event(tick, event);
    trace.addLast(e);
    if (journal != null) {
      journal.accept(e.toString());
    }
    return tick;
  }

  void journalTo(Consumer<String> journal) {
    this.journal = journal;
  }

  /** The number of the last event, 0 before the first. */
  long tick() {
    return tick;
  }

  void violation(
      ViolationKind kind, String deviceId, @Nullable String mm, long va, long pfn, String message) {
    reported++;
    if (journal != null) {
      journal.accept(
          "violation " + new Violation(kind, deviceId, mm, va, pfn, message, List.of()).summary());
    }
    if (violations.size() < maxViolations) {
      violations.add(new Violation(kind, deviceId, mm, va, pfn, message, renderTrace()));
    }
  }

  /** The stored violations, oldest first (the live list). */
  List<Violation> violations() {
    return violations;
  }

  /** Violations reported, including those beyond the storage limit. */
  long reported() {
    return reported;
  }

  List<String> renderTrace() {
    List<String> out = new ArrayList<>(trace.size());
    for (Event e : trace) {
      out.add(e.toString());
    }
    return out;
  }

  /** Forgets violations and trace; event numbers keep increasing. */
  void reset() {
    violations.clear();
    reported = 0;
    trace.clear();
  }

  /** One event of the trace ring; its text is built only if it is ever read. */
  private record Event(long tick, Supplier<String> text) {
    @Override
    public String toString() {
      return "#" + tick + " " + text.get();
    }
  }
}
