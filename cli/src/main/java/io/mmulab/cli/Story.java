package io.mmulab.cli;

import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.TraceEntry;
import io.mmulab.testkit.scenario.ScenarioRunner;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The causal chain of a race, picked from a journaled trace ({@link
 * ScenarioRunner#replayWithJournal}): the few events that make it, in trace order, with the
 * orderings that mattered and the check that was missing.
 *
 * <p>For a violation the chain is found by following its page and frame backwards from it: the
 * access, the device programming that mapped the frame, the page lookup that returned it and the
 * sequence reads around that lookup (in the programming thread); the CPU entry change of the page,
 * the invalidation window around it with the callbacks and sequence writes that covered the page
 * (in the invalidating thread); the frame's release; and the lock hand-offs between those threads
 * that ordered them. For a run stopped by a cycle of waits, the chain is each blocked thread's wait
 * and the acquisition it waits behind. On a fixed variant replaying the same choices, the chain is
 * the same page's window, lookups, sequence reads and programming, centred on the first collision.
 */
final class Story {
  /** The most events a story shows. */
  static final int MAX_STEPS = 30;

  /** What an event is in the story; the report's tests look for these names. */
  enum Role {
    /** A page lookup (GUP, HMM walk) of the page. */
    LOOKUP("lookup"),
    /** A sequence read or write of a subscription covering the page. */
    SEQ("seq"),
    /** The invalidation: window start and end, callbacks, the device entry zapped. */
    INVALIDATION("invalidation"),
    /** The CPU page-table entry of the page changing. */
    PTE("pte"),
    /** The frame freed or handed out again. */
    FRAME("frame"),
    /** The device (or a driver for it) mapping the page. */
    PROGRAM("program"),
    /** The access that broke the rule. */
    ACCESS("access"),
    /** The checker's verdict. */
    VIOLATION("violation"),
    /** A lock hand-off or acquisition that ordered the story. */
    LOCK("lock"),
    /** A thread blocked, part of a cycle of waits. */
    WAIT("wait"),
    /** Anything else about the page. */
    CONTEXT("context");

    private final String css;

    Role(String css) {
      this.css = css;
    }

    /** Returns the role's name in the picture's markup. */
    String css() {
      return css;
    }
  }

  /**
   * One event of the story.
   *
   * @param index its index in the trace
   * @param entry the trace entry
   * @param role what it is in the story
   */
  record Step(int index, TraceEntry entry, Role role) {
    /** Returns the event's text without the journal's prefixes. */
    String text() {
      String l = entry.label();
      if (l.startsWith(ScenarioRunner.JOURNAL_CHECKER)) {
        return l.substring(l.indexOf(' ', ScenarioRunner.JOURNAL_CHECKER.length()) + 1);
      }
      if (l.startsWith(ScenarioRunner.JOURNAL_VIOLATION)) {
        return "✖ " + l.substring(ScenarioRunner.JOURNAL_VIOLATION.length());
      }
      return l.startsWith("yield ") ? l.substring("yield ".length()) : l;
    }
  }

  /**
   * An ordering that mattered, from one step to a later one (indices into {@link #steps}).
   *
   * @param from the earlier step
   * @param to the later step
   * @param label what the ordering means
   * @param lockHandOff whether it is a release of a lock followed by another thread's acquisition
   */
  record Arrow(int from, int to, String label, boolean lockHandOff) {}

  /**
   * A remark attached to a step: a missing check, or a check that caught the collision.
   *
   * @param after the step it follows (index into {@link #steps})
   * @param text the remark
   * @param good whether it is a check that worked
   */
  record Callout(int after, String text, boolean good) {}

  /**
   * An invalidation window among the steps (indices into {@link #steps}, inclusive).
   *
   * @param from its first step
   * @param to its last step
   * @param caption what it is
   */
  record Window(int from, int to, String caption) {}

  private static final Pattern VA = Pattern.compile("(?:va=|lookup |translated )0x([0-9a-f]+)");
  private static final Pattern RANGE = Pattern.compile("\\[0x([0-9a-f]+), 0x([0-9a-f]+)([)\\]])");
  private static final Pattern LOCK_OP =
      Pattern.compile("(unlock|up_read|up_write|acquired) (\\S+)(?: \\((?:read|write)\\))?");
  private static final String BLOCKED_ON = Timeline.BLOCKED_ON;
  private static final long PAGE_MASK = ~0xfffL;

  private final String title;
  private final List<String> lanes;
  private final List<Step> steps;
  private final List<Window> windows;
  private final List<Arrow> arrows;
  private final List<Callout> callouts;
  private final int traceSize;

  private Story(
      String title,
      List<Step> steps,
      List<Window> windows,
      List<Arrow> arrows,
      List<Callout> callouts,
      int traceSize) {
    this.title = title;
    this.steps = List.copyOf(steps);
    this.windows = List.copyOf(windows);
    this.arrows = List.copyOf(arrows);
    this.callouts = List.copyOf(callouts);
    this.traceSize = traceSize;
    Set<String> names = new LinkedHashSet<>();
    steps.forEach(s -> names.add(s.entry().thread()));
    this.lanes = List.copyOf(names);
  }

  /** Returns the story's one-line title. */
  String title() {
    return title;
  }

  /** Returns the threads, in order of first appearance. */
  List<String> lanes() {
    return lanes;
  }

  /** Returns the events, in trace order. */
  List<Step> steps() {
    return steps;
  }

  /** Returns the invalidation windows among the steps. */
  List<Window> windows() {
    return windows;
  }

  /** Returns the orderings that mattered. */
  List<Arrow> arrows() {
    return arrows;
  }

  /** Returns the remarks. */
  List<Callout> callouts() {
    return callouts;
  }

  /** Returns the thread of the story's first invalidation step, or null if it has none. */
  @Nullable String invalidator() {
    for (Step s : steps) {
      if (s.role() == Role.INVALIDATION || s.role() == Role.PTE) {
        return s.entry().thread();
      }
    }
    return null;
  }

  /** Returns how many entries the whole trace has. */
  int traceSize() {
    return traceSize;
  }

  /**
   * The story of a violation.
   *
   * @param entries a journaled trace
   * @param v the violation to explain
   * @return the story
   */
  static Story ofViolation(List<TraceEntry> entries, Violation v) {
    Picker p = new Picker(entries);
    int end = p.violationEntry(v);
    p.keep(end, Role.VIOLATION);
    String thread = entries.get(end).thread();
    long page = v.va() == CoherencyChecker.NO_VA ? -1 : v.va() & PAGE_MASK;
    long pfn = v.pfn();
    int access = p.lastBefore(end, i -> p.isChecker(i) && p.sameThread(i, thread));
    p.keep(
        access, access >= 0 && p.roleOf(access) != Role.CONTEXT ? p.roleOf(access) : Role.ACCESS);
    int program =
        p.lastBefore(
            end, i -> p.isEvent(i, "deviceMapped") && p.onPage(i, page) && p.onFrame(i, pfn));
    p.keep(program, Role.PROGRAM);
    String programmer = program >= 0 ? entries.get(program).thread() : thread;
    int lookupEnd = program >= 0 ? program : end;
    int lookup =
        p.lastBefore(
            lookupEnd, i -> p.isLookup(i) && p.sameThread(i, programmer) && p.onPage(i, page));
    p.keep(lookup, Role.LOOKUP);
    int seqFrom = lookup >= 0 ? p.lastBefore(lookup, i -> p.isReadBegin(i, programmer, page)) : -1;
    for (int i = Math.max(0, Math.min(seqFrom, lookup)); i >= 0 && i < lookupEnd; i++) {
      if (p.isSeq(i) && p.sameThread(i, programmer) && p.onPage(i, page)) {
        p.pick(i, Role.SEQ);
      }
    }
    int pte =
        p.lastBefore(
            end, i -> p.isEvent(i, "cpuPteChanged") && p.onPage(i, page) && p.fromFrame(i, pfn));
    if (pte >= 0) {
      p.keep(pte, Role.PTE);
      p.window(pte, page, end);
      p.causal.add(pte);
      int freed = p.firstAfter(pte, i -> p.isEvent(i, "frameFreed") && p.onFrame(i, pfn));
      if (freed >= 0 && freed < end) {
        p.pick(freed, Role.FRAME);
        int again = p.firstAfter(freed, i -> p.isEvent(i, "frameAllocated") && p.onFrame(i, pfn));
        if (again >= 0 && again < end) {
          p.pick(again, Role.FRAME);
        }
      }
    }
    int callback = p.lastBefore(end, i -> p.isEvent(i, "callbackReturned") && p.onPage(i, page));
    if (callback >= 0 && callback > pte) {
      // A callback that reached the page after the last entry change (or with none): the
      // invalidation the device ignored.
      String invalidator = entries.get(callback).thread();
      p.keep(callback, Role.INVALIDATION);
      p.keep(
          p.lastBefore(
              callback,
              i ->
                  p.isEvent(i, "callbackEntered")
                      && p.sameThread(i, invalidator)
                      && p.onPage(i, page)),
          Role.INVALIDATION);
      p.window(callback, page, end);
    }
    p.context(page, pfn, end);
    p.handOffs(end);
    int opened = p.firstPicked(Role.INVALIDATION, Role.PTE);
    int used = program >= 0 ? program : access;
    Story s = p.build(storyTitle(v), end);
    // A lookup is stale only if the invalidation began before its result was used.
    return opened >= 0 && used > opened ? s.withMissingCheck(lookup, used, programmer) : s;
  }

  /**
   * The story of a run that ended in a cycle of waits: each blocked thread's last wait, the
   * acquisition of what it waits for, and what led to it.
   *
   * @param entries a journaled trace
   * @param what one line saying what the run showed
   * @return the story
   */
  static Story ofStall(List<TraceEntry> entries, String what) {
    Picker p = new Picker(entries);
    Map<String, Integer> lastWait = new LinkedHashMap<>();
    Map<String, Integer> last = new HashMap<>();
    for (int i = 0; i < entries.size(); i++) {
      last.put(entries.get(i).thread(), i);
      if (entries.get(i).label().startsWith(BLOCKED_ON)) {
        lastWait.put(entries.get(i).thread(), i);
      }
    }
    List<int[]> waitsFor = new ArrayList<>();
    lastWait.forEach(
        (thread, i) -> {
          if (i.equals(last.get(thread))) {
            p.keep(i, Role.WAIT);
            String on = lockName(entries.get(i).label().substring(BLOCKED_ON.length()));
            int held =
                p.lastBefore(
                    i,
                    j ->
                        !p.sameThread(j, thread)
                            && entries.get(j).label().startsWith("acquired " + on));
            if (held >= 0) {
              p.keep(held, Role.LOCK);
              waitsFor.add(new int[] {i, held});
            }
          }
        });
    int end = entries.size() - 1;
    Story s = p.build("a cycle of waits: " + what, end);
    List<Arrow> arrows = new ArrayList<>(s.arrows);
    for (int[] w : waitsFor) {
      arrows.add(new Arrow(s.position(w[0]), s.position(w[1]), "waits for", false));
    }
    return new Story(s.title, s.steps, s.windows, arrows, s.callouts, s.traceSize);
  }

  /**
   * The same page on a fixed variant that replayed the choices of a race: its windows, lookups,
   * sequence reads and programming, centred on the first collision its retry check caught (or, if
   * none, on the first programming of the page after a window).
   *
   * @param entries a journaled trace of the fixed variant
   * @param va the address the race was about
   * @param invalidator the thread whose invalidation the race ignored, or null
   * @return the story
   */
  static Story ofFixed(List<TraceEntry> entries, long va, @Nullable String invalidator) {
    Picker p = new Picker(entries);
    long page = va & PAGE_MASK;
    int center = p.firstAfter(-1, i -> p.isCollision(i) && p.onPage(i, page));
    boolean collided = center >= 0;
    if (!collided) {
      // No collision: the same thread's invalidation of the page, as in the race.
      center =
          p.firstAfter(
              -1,
              i ->
                  p.isEvent(i, "callbackEntered")
                      && p.onPage(i, page)
                      && p.sameThread(i, invalidator));
      int changed = p.firstAfter(-1, i -> p.isEvent(i, "cpuPteChanged") && p.onPage(i, page));
      center = center >= 0 ? center : Math.max(changed, 0);
    }
    String thread = entries.isEmpty() ? "" : entries.get(center).thread();
    int begin =
        collided
            ? p.lastBefore(center, i -> p.isReadBegin(i, thread, page))
            : p.lastBefore(center, i -> p.isLookup(i) && p.onPage(i, page));
    int pte =
        collided
            ? p.lastBefore(center, i -> p.isEvent(i, "cpuPteChanged") && p.onPage(i, page))
            : p.firstAfter(
                center,
                i -> p.isEvent(i, "cpuPteChanged") && p.onPage(i, page) && p.sameThread(i, thread));
    int from = center;
    for (int i : new int[] {begin, pte}) {
      from = i >= 0 ? Math.min(from, i) : from;
    }
    int after = 0;
    int last = center;
    for (int i = Math.max(center, pte) + 1; i < entries.size() && after < (collided ? 4 : 8); i++) {
      if ((p.isSeq(i) || p.isLookup(i) || p.isChecker(i)) && p.onPage(i, page)) {
        last = i;
        after++;
      }
    }
    p.keep(center, p.roleOf(center));
    if (pte >= 0) {
      p.keep(pte, Role.PTE);
      p.window(pte, page, last);
    }
    p.pick(begin, Role.SEQ);
    for (int i = from; i <= last; i++) {
      if ((p.isSeq(i) || p.isLookup(i) || p.isChecker(i)) && p.onPage(i, page)) {
        p.pick(i, p.roleOf(i));
      }
    }
    String title =
        collided
            ? "its retry check caught the collision and it retried"
            : "no collision on this page, nothing stale programmed";
    Story s = p.build(title, last);
    List<Callout> callouts = new ArrayList<>();
    for (int k = 0; k < s.steps.size(); k++) {
      if (p.isCollision(s.steps.get(k).index())) {
        callouts.add(new Callout(k, "the sequence moved: retry instead of programming", true));
      }
    }
    return new Story(s.title, s.steps, s.windows, s.arrows, callouts, s.traceSize);
  }

  private static String storyTitle(Violation v) {
    return v.kind() + " by " + v.deviceId() + ": " + v.message();
  }

  private int position(int traceIndex) {
    for (int k = 0; k < steps.size(); k++) {
      if (steps.get(k).index() == traceIndex) {
        return k;
      }
    }
    throw new IllegalArgumentException("trace entry " + traceIndex + " is not a step");
  }

  /** Calls out the check missing between a lookup and the programming that used its result. */
  private Story withMissingCheck(int lookup, int program, String thread) {
    if (lookup < 0 || program < 0) {
      return this;
    }
    boolean checked = false;
    for (Step s : steps) {
      if (s.index() > lookup
          && s.index() < program
          && s.entry().thread().equals(thread)
          && (s.text().startsWith("readRetry") || s.text().startsWith("checkRetry"))) {
        checked = true;
      }
    }
    List<Callout> out = new ArrayList<>(callouts);
    out.add(
        new Callout(
            position(lookup),
            checked
                ? "its retry check ran, but too early to see the invalidation"
                : "missing: no readRetry under the driver lock between this lookup and the"
                    + " programming",
            false));
    return new Story(title, steps, windows, arrows, out, traceSize);
  }

  /** Reads roles off the trace and collects the picked entries. */
  private static final class Picker {
    private final List<TraceEntry> entries;
    private final TreeMap<Integer, Role> picked = new TreeMap<>();
    private final Set<Integer> kept = new java.util.HashSet<>();
    private final List<int[]> windowRanges = new ArrayList<>();
    private final List<int[]> handOffs = new ArrayList<>();
    final List<Integer> causal = new ArrayList<>();

    Picker(List<TraceEntry> entries) {
      this.entries = entries;
    }

    void pick(int i, Role role) {
      if (i >= 0) {
        picked.putIfAbsent(i, role);
      }
    }

    /** Picks an event the story cannot do without: never dropped to keep within the limit. */
    void keep(int i, Role role) {
      if (i >= 0) {
        pick(i, role);
        kept.add(i);
      }
    }

    String label(int i) {
      return entries.get(i).label();
    }

    boolean sameThread(int i, @Nullable String thread) {
      return entries.get(i).thread().equals(thread);
    }

    boolean isChecker(int i) {
      return label(i).startsWith(ScenarioRunner.JOURNAL_CHECKER);
    }

    boolean isEvent(int i, String name) {
      return isChecker(i) && checkerName(label(i)).equals(name);
    }

    boolean isLookup(int i) {
      return label(i).contains(" lookup 0x");
    }

    boolean isSeq(int i) {
      String l = label(i);
      return l.startsWith("readBegin ")
          || l.startsWith("readRetry ")
          || l.startsWith("checkRetry ")
          || l.startsWith("setSeq ");
    }

    boolean isReadBegin(int i, String thread, long page) {
      return label(i).startsWith("readBegin ") && sameThread(i, thread) && onPage(i, page);
    }

    boolean isCollision(int i) {
      String l = label(i);
      return (l.startsWith("readRetry ") || l.startsWith("checkRetry ")) && l.endsWith(", retry");
    }

    /** Whether the entry is about {@code page}: an address on it or a range over it. */
    boolean onPage(int i, long page) {
      if (page < 0) {
        return false;
      }
      String l = label(i);
      Matcher va = VA.matcher(l);
      while (va.find()) {
        if ((Long.parseUnsignedLong(va.group(1), 16) & PAGE_MASK) == page) {
          return true;
        }
      }
      Matcher r = RANGE.matcher(l);
      while (r.find()) {
        long start = Long.parseUnsignedLong(r.group(1), 16);
        long end = Long.parseUnsignedLong(r.group(2), 16);
        boolean inclusive = r.group(3).equals("]");
        if (Long.compareUnsigned(page, start) >= 0
            && (inclusive
                ? Long.compareUnsigned(page, end) <= 0
                : Long.compareUnsigned(page, end) < 0)) {
          return true;
        }
      }
      return false;
    }

    boolean onFrame(int i, long pfn) {
      if (pfn == CoherencyChecker.NO_PFN) {
        return true;
      }
      String l = label(i);
      return l.contains("pfn=" + pfn + " ")
          || l.endsWith("pfn=" + pfn)
          || l.contains("pfn " + pfn + " ");
    }

    /** For a CPU entry change: whether it took the entry away from {@code pfn}. */
    boolean fromFrame(int i, long pfn) {
      String l = label(i);
      int arrow = l.indexOf(" -> ");
      return pfn == CoherencyChecker.NO_PFN
          || (arrow > 0 && l.substring(0, arrow).endsWith("pfn " + pfn + " rw"))
          || (arrow > 0 && l.substring(0, arrow).contains("pfn " + pfn + " "));
    }

    Role roleOf(int i) {
      if (isLookup(i)) {
        return Role.LOOKUP;
      }
      if (isSeq(i)) {
        return Role.SEQ;
      }
      return switch (isChecker(i) ? checkerName(label(i)) : "") {
        case "cpuPteChanged" -> Role.PTE;
        case "callbackEntered", "callbackReturned", "deviceUnmapped" -> Role.INVALIDATION;
        case "deviceMapped" -> Role.PROGRAM;
        case "deviceAccess", "cpuAccess", "kernelAccess" -> Role.ACCESS;
        case "frameFreed", "frameAllocated" -> Role.FRAME;
        default -> Role.CONTEXT;
      };
    }

    int lastBefore(int before, java.util.function.IntPredicate p) {
      for (int i = before - 1; i >= 0; i--) {
        if (p.test(i)) {
          return i;
        }
      }
      return -1;
    }

    int firstAfter(int after, java.util.function.IntPredicate p) {
      for (int i = after + 1; i < entries.size(); i++) {
        if (p.test(i)) {
          return i;
        }
      }
      return -1;
    }

    int violationEntry(Violation v) {
      String want = ScenarioRunner.JOURNAL_VIOLATION + v.summary();
      String kind = ScenarioRunner.JOURNAL_VIOLATION + v.kind() + " by " + v.deviceId();
      int same = firstAfter(-1, i -> label(i).equals(want));
      int similar = firstAfter(-1, i -> label(i).startsWith(kind));
      return same >= 0 ? same : similar >= 0 ? similar : entries.size() - 1;
    }

    /**
     * Picks the invalidation window around {@code anchor} (a CPU entry change, or a callback that
     * precedes the window's start yield): its start and end yields, and the callbacks, device zaps
     * and sequence writes its thread made for the page before the start.
     */
    void window(int anchor, long page, int end) {
      String thread = entries.get(anchor).thread();
      boolean yields = isEvent(anchor, "cpuPteChanged");
      int start =
          yields
              ? lastBefore(
                  anchor, i -> sameThread(i, thread) && label(i).endsWith(Timeline.WINDOW_START))
              : firstAfter(
                  anchor,
                  i ->
                      sameThread(i, thread)
                          && (label(i).endsWith(Timeline.WINDOW_START)
                              || label(i).endsWith(Timeline.WINDOW_END)));
      if (start < 0 || !label(start).endsWith(Timeline.WINDOW_START)) {
        return; // a callback outside an mm operation's window (a teardown, say)
      }
      int stop =
          firstAfter(start, i -> sameThread(i, thread) && label(i).endsWith(Timeline.WINDOW_END));
      int first =
          lastBefore(
              start,
              i ->
                  sameThread(i, thread)
                      && (label(i).contains(".mmap_lock")
                          || label(i).endsWith(Timeline.WINDOW_END)));
      for (int i = Math.max(first, 0); i < start; i++) {
        if (sameThread(i, thread) && (isChecker(i) || isSeq(i)) && onPage(i, page)) {
          pick(i, isSeq(i) ? Role.SEQ : Role.INVALIDATION);
        }
      }
      keep(start, Role.INVALIDATION);
      if (stop >= 0 && stop <= end + MAX_STEPS) {
        pick(stop, Role.INVALIDATION);
      }
      int opened = picked.subMap(Math.max(first, 0), true, start, true).firstKey();
      windowRanges.add(new int[] {opened, stop >= 0 ? stop : entries.size() - 1});
    }

    /** Fills with other checker events on the page or frame between the first pick and the end. */
    void context(long page, long pfn, int end) {
      int from = picked.isEmpty() ? 0 : picked.firstKey();
      for (int i = from; i < end && picked.size() < MAX_STEPS - 6; i++) {
        if (isChecker(i) && onPage(i, page) && onFrame(i, pfn)) {
          pick(i, roleOf(i));
        }
      }
    }

    /**
     * Lock hand-offs between the story's threads, up to its end: a release by one thread followed
     * by the other's acquisition of the same lock. Keeps the four closest to a picked event.
     */
    void handOffs(int end) {
      Set<String> threads = new LinkedHashSet<>();
      picked.keySet().forEach(i -> threads.add(entries.get(i).thread()));
      int from = picked.isEmpty() ? 0 : picked.firstKey();
      Map<String, Integer> released = new HashMap<>();
      List<int[]> found = new ArrayList<>();
      for (int i = from; i <= end; i++) {
        TraceEntry e = entries.get(i);
        if (!threads.contains(e.thread())) {
          continue;
        }
        Matcher m = LOCK_OP.matcher(e.label());
        if (!m.matches() || m.group(2).startsWith("physmem.")) {
          continue;
        }
        String lock = m.group(2);
        if (!m.group(1).equals("acquired")) {
          released.put(lock, i);
        } else {
          Integer r = released.remove(lock);
          if (r != null && !entries.get(r).thread().equals(e.thread())) {
            found.add(new int[] {r, i});
          }
        }
      }
      found.sort(Comparator.comparingInt(h -> distanceToPick(h[1])));
      for (int[] h : found.subList(0, Math.min(4, found.size()))) {
        pick(h[0], Role.LOCK);
        pick(h[1], Role.LOCK);
        handOffs.add(h);
      }
    }

    private int distanceToPick(int i) {
      Integer lo = picked.floorKey(i);
      Integer hi = picked.ceilingKey(i);
      return Math.min(
          lo == null ? Integer.MAX_VALUE : i - lo, hi == null ? Integer.MAX_VALUE : hi - i);
    }

    Story build(String title, int end) {
      // Over the limit: drop context first, then locks, then sequence reads, keeping the end.
      // Over the limit: drop the earliest context first, then locks, sequence reads, frames, and
      // then anything the story can do without.
      for (Role drop :
          List.of(Role.CONTEXT, Role.LOCK, Role.SEQ, Role.FRAME, Role.ACCESS, Role.INVALIDATION)) {
        Integer victim = -1;
        while (picked.size() > MAX_STEPS && victim != null) {
          victim = null;
          for (Map.Entry<Integer, Role> e : picked.entrySet()) {
            if (e.getValue() == drop && !kept.contains(e.getKey())) {
              victim = e.getKey();
              break;
            }
          }
          if (victim != null) {
            picked.remove(victim);
          }
        }
      }
      List<Step> steps = new ArrayList<>();
      Map<Integer, Integer> position = new HashMap<>();
      picked.forEach(
          (i, role) -> {
            position.put(i, steps.size());
            steps.add(new Step(i, entries.get(i), role));
          });
      List<Arrow> arrows = new ArrayList<>();
      for (int[] h : handOffs) {
        if (position.containsKey(h[0]) && position.containsKey(h[1])) {
          String lock = lockName(entries.get(h[1]).label().substring("acquired ".length()));
          arrows.add(new Arrow(position.get(h[0]), position.get(h[1]), lock, true));
        }
      }
      for (int c : causal) {
        Integer pte = position.get(c);
        Integer target = position.get(firstPickedUpTo(end, Role.PROGRAM, Role.ACCESS));
        if (pte != null && target != null && target > pte) {
          arrows.add(new Arrow(pte, target, "CPU entry changed first", false));
        }
      }
      List<Window> windows = new ArrayList<>();
      for (int[] w : windowRanges) {
        Integer a = picked.ceilingKey(w[0]);
        Integer b = picked.floorKey(w[1]);
        if (a != null && b != null && a <= b) {
          windows.add(
              new Window(
                  Objects.requireNonNull(position.get(a)),
                  Objects.requireNonNull(position.get(b)),
                  "invalidation window"));
        }
      }
      return new Story(title, steps, windows, arrows, List.of(), entries.size());
    }

    int firstPicked(Role... roles) {
      return firstPickedUpTo(Integer.MAX_VALUE, roles);
    }

    private int firstPickedUpTo(int end, Role... roles) {
      int best = -1;
      for (Map.Entry<Integer, Role> e : picked.headMap(end, true).entrySet()) {
        for (Role r : roles) {
          if (e.getValue() == r && best < 0) {
            best = e.getKey();
          }
        }
      }
      return best;
    }
  }

  private static String checkerName(String label) {
    int start = label.indexOf(' ', ScenarioRunner.JOURNAL_CHECKER.length()) + 1;
    int space = label.indexOf(' ', start);
    return space < 0 ? label.substring(start) : label.substring(start, space);
  }

  /** {@code "app#1.mmap_lock (write)"} → {@code "app#1.mmap_lock"}. */
  private static String lockName(String waitedFor) {
    int paren = waitedFor.indexOf(" (");
    return paren < 0 ? waitedFor : waitedFor.substring(0, paren);
  }
}
