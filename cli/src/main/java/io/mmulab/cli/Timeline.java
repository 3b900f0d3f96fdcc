package io.mmulab.cli;

import io.mmulab.sim.sched.Trace;
import io.mmulab.sim.sched.TraceEntry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A run's trace laid out for a race picture: one lane per simulated thread, the invalidation
 * windows as bands, and the event that broke a coherency rule.
 *
 * <p>Windows are recognised from the address space's yield points ({@code "<op>: between invalidate
 * start and PTE change"} … {@code "<op>: between PTE change and invalidate end"}); a range named by
 * a driver label of the same thread inside the window (such as {@code "invalidate [0x1000,
 * 0x3000)"}) labels the band. A thread's waits run from its {@code "blocked on X"} event to its
 * next event (to the end, for a thread still waiting when a deadlock ended the run). The violating
 * event is located by {@link ViolationLocator}.
 */
final class Timeline {
  /** What a lane stands for, from what its thread does. */
  enum LaneKind {
    /** A thread that runs mm operations or takes CPU page faults. */
    CPU("CPU thread"),
    /** A device engine or a thread doing device DMA. */
    DEVICE("device"),
    /** Any other thread: driver workers, fault handlers, the scenario's main thread. */
    DRIVER("driver thread");

    private final String title;

    LaneKind(String title) {
      this.title = title;
    }

    /** Returns a short human name of the kind. */
    String title() {
      return title;
    }
  }

  /**
   * One simulated thread.
   *
   * @param thread its name
   * @param kind what it stands for
   */
  record Lane(String thread, LaneKind kind) {}

  /**
   * One invalidation window: entries {@code from} to {@code to}, both inclusive, from the
   * invalidate start to the end of the invalidate end as far as the trace shows them.
   *
   * @param thread the thread that ran the mm operation
   * @param op the operation ({@code munmap}, {@code mprotect}, …)
   * @param range the range when a label names it, else empty
   * @param from index of the entry that opened the window
   * @param to index of the entry that closed it (the last entry if it never closed)
   */
  record Band(String thread, String op, String range, int from, int to) {
    /** Returns the band's caption. */
    String caption() {
      return op + " window" + (range.isEmpty() ? "" : " " + range) + " (" + thread + ")";
    }
  }

  /**
   * A thread blocked: entries {@code from} (its {@code "blocked on"} event) to {@code to}, the
   * entry before its next event (or the last entry).
   *
   * @param thread the thread
   * @param on what it waits for
   * @param from index of the entry that blocked it
   * @param to index of the last entry during which it waited
   */
  record Wait(String thread, @Nullable String on, int from, int to) {
    /** Returns the wait's caption. */
    String caption() {
      return thread + " waits for " + on;
    }
  }

  /** How the scheduler labels the event of a thread that blocks. */
  static final String BLOCKED_ON = "blocked on ";

  /** How the address space labels the yield point that opens an invalidation window. */
  static final String WINDOW_START = ": between invalidate start and PTE change";

  /** How the address space labels the yield point that closes an invalidation window. */
  static final String WINDOW_END = ": between PTE change and invalidate end";

  private static final Pattern NOTIFIER_LOCK =
      Pattern.compile("lock \\S+\\.notifier_subscriptions\\S*");
  private static final Pattern RANGE =
      Pattern.compile("\\[(0x[0-9a-fA-F]+)\\s*,\\s*(0x[0-9a-fA-F]+)\\)");

  private final List<TraceEntry> entries;
  private final List<Lane> lanes;
  private final List<Band> bands;
  private final List<Wait> waits;
  private final int marked;

  private Timeline(
      List<TraceEntry> entries, List<Lane> lanes, List<Band> bands, List<Wait> waits, int marked) {
    this.entries = entries;
    this.lanes = lanes;
    this.bands = bands;
    this.waits = waits;
    this.marked = marked;
  }

  /**
   * Lays out {@code trace}.
   *
   * @param trace the run's trace
   * @param marked the index of the entry to mark, or -1
   * @return the timeline
   */
  static Timeline of(Trace trace, int marked) {
    List<TraceEntry> entries = trace.entries();
    return new Timeline(entries, lanes(entries), bands(entries), waits(entries), marked);
  }

  /** Returns the waits of every thread, in order of blocking. */
  List<Wait> waits() {
    return waits;
  }

  /** Finds every wait: a {@code "blocked on"} event up to the same thread's next event. */
  static List<Wait> waits(List<TraceEntry> entries) {
    List<Wait> out = new ArrayList<>();
    Map<String, Integer> open = new HashMap<>();
    Map<String, String> on = new HashMap<>();
    for (int i = 0; i < entries.size(); i++) {
      TraceEntry e = entries.get(i);
      Integer from = open.remove(e.thread());
      if (from != null) {
        out.add(new Wait(e.thread(), on.remove(e.thread()), from, i - 1));
      }
      if (e.label().startsWith(BLOCKED_ON)) {
        open.put(e.thread(), i);
        on.put(e.thread(), e.label().substring(BLOCKED_ON.length()));
      }
    }
    open.forEach(
        (thread, from) -> out.add(new Wait(thread, on.get(thread), from, entries.size() - 1)));
    out.sort(java.util.Comparator.comparingInt(Wait::from));
    return out;
  }

  /** Returns every entry of the trace. */
  List<TraceEntry> entries() {
    return entries;
  }

  /** Returns the lanes in order of first appearance. */
  List<Lane> lanes() {
    return lanes;
  }

  /** Returns the invalidation windows in order of opening. */
  List<Band> bands() {
    return bands;
  }

  /** Returns the index of the entry right before the violation, or -1 if none is marked. */
  int marked() {
    return marked;
  }

  private static List<Lane> lanes(List<TraceEntry> entries) {
    Map<String, LaneKind> kinds = new LinkedHashMap<>();
    for (TraceEntry e : entries) {
      LaneKind now = kindOf(e.label());
      kinds.merge(e.thread(), now, (a, b) -> a == LaneKind.DRIVER ? b : a);
    }
    List<Lane> out = new ArrayList<>();
    kinds.forEach((thread, kind) -> out.add(new Lane(thread, kind)));
    return List.copyOf(out);
  }

  private static LaneKind kindOf(String label) {
    if (label.contains(" before DMA ")
        || label.contains(" before signalling ")
        || label.contains(" between commands ")) {
      return LaneKind.DEVICE;
    }
    if (label.endsWith(WINDOW_START) || label.startsWith("yield cpu: page fault")) {
      return LaneKind.CPU; // not "fault: …": get_user_pages and hmm faults pass there too
    }
    return LaneKind.DRIVER;
  }

  /**
   * Finds the invalidation windows of {@code entries}.
   *
   * @param entries a run's trace
   * @return the windows in order of opening
   */
  static List<Band> bands(List<TraceEntry> entries) {
    Map<String, Deque<Integer>> open = new HashMap<>();
    List<Band> out = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      TraceEntry e = entries.get(i);
      Deque<Integer> stack = open.computeIfAbsent(e.thread(), t -> new ArrayDeque<>());
      if (e.label().endsWith(WINDOW_START)) {
        stack.push(i);
      } else if (e.label().endsWith(WINDOW_END) && !stack.isEmpty()) {
        out.add(band(entries, stack.pop(), i, true));
      }
    }
    for (Deque<Integer> stack : open.values()) {
      for (int from : stack) {
        out.add(band(entries, from, entries.size() - 1, false));
      }
    }
    out.sort((a, b) -> Integer.compare(a.from(), b.from()));
    return List.copyOf(out);
  }

  /**
   * The window between the yields at {@code startYield} and {@code endYield}, widened over what its
   * thread did around them for the invalidate start and end (the callbacks, the notifier lock):
   * back and forth until the thread's previous and next page-table or mmap-lock operation, window
   * yield or thread event. Its range is the first one a label of the thread names inside.
   */
  private static Band band(List<TraceEntry> entries, int startYield, int endYield, boolean closed) {
    String thread = entries.get(startYield).thread();
    int from = startYield;
    for (int i = startYield - 1; i >= 0; i--) {
      TraceEntry e = entries.get(i);
      if (e.thread().equals(thread)) {
        if (stopsWidening(e.label())) {
          break;
        }
        from = i;
      }
    }
    for (int i = startYield - 1; i > from; i--) {
      TraceEntry e = entries.get(i);
      if (e.thread().equals(thread) && NOTIFIER_LOCK.matcher(e.label()).matches()) {
        from = i; // the start's first step: what came before it was the operation's own work
        break;
      }
    }
    int to = endYield;
    for (int i = endYield + 1; closed && i < entries.size(); i++) {
      TraceEntry e = entries.get(i);
      if (e.thread().equals(thread)) {
        if (stopsWidening(e.label()) || e.label().startsWith("lock physmem.")) {
          break; // the frames the operation dropped are freed after the end
        }
        to = i;
      }
    }
    String range = "";
    for (int i = from; i <= to && range.isEmpty(); i++) {
      TraceEntry e = entries.get(i);
      Matcher m = RANGE.matcher(e.label());
      if (e.thread().equals(thread) && m.find()) {
        range = "[" + m.group(1) + ", " + m.group(2) + ")";
      }
    }
    String label = entries.get(startYield).label();
    String op = label.substring(0, label.length() - WINDOW_START.length());
    if (op.startsWith("yield ")) {
      op = op.substring("yield ".length());
    }
    return new Band(thread, op, range, from, to);
  }

  private static boolean stopsWidening(String label) {
    return label.endsWith(WINDOW_START)
        || label.endsWith(WINDOW_END)
        || label.endsWith(".ptl")
        || label.contains(".mmap_lock")
        || label.equals("end")
        || label.startsWith("spawn ")
        || label.startsWith("join ")
        || label.startsWith("failed: ");
  }
}
