package io.mmulab.cli;

import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.TraceEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Draws a run as the swimlane picture of a race report: time flows down, one lane per simulated
 * thread (CPU threads, device engines, driver threads), the invalidation windows as tinted bands
 * with their bars and captions on the right, and the event that broke the rule outlined in red.
 * Inline SVG only, so the page needs nothing but itself.
 */
final class TimelineHtml {
  /** Rows drawn at most; a longer trace is drawn up to a little past the violating event. */
  static final int MAX_ROWS = 500;

  private static final int ROWS_AFTER_MARK = 30;
  private static final int STEP_W = 64;
  private static final int LANE_W = 250;
  private static final int ROW_H = 18;
  private static final int BAR_GAP = 12;
  private static final int CAPTION_W = 330;
  private static final double CHAR_W = 6.7;
  private static final String[] BAND_COLORS = {
    "#2f6fd6", "#d98a1c", "#2a9d6f", "#c2417b", "#7b5cd6", "#5c8a99"
  };

  private TimelineHtml() {}

  /**
   * Renders one run as an HTML section: heading, facts, the violation, legend, picture, the
   * checker's trace and, if asked, the scheduler's trace as text.
   *
   * @param id a page-unique identifier (letters, digits, dashes)
   * @param heading the section heading
   * @param facts lines shown under the heading (driver, variant, scenario, seed, how to replay)
   * @param run the run
   * @param violation the violation, or null
   * @param marked the index of the trace entry right before the violation (see {@link
   *     ViolationStep}), or -1
   * @param fullTrace whether to add the whole scheduler trace as text
   * @return the HTML
   */
  static String section(
      String id,
      String heading,
      List<String> facts,
      RunResult run,
      @Nullable Violation violation,
      int marked,
      boolean fullTrace) {
    Timeline t = Timeline.of(run.trace(), marked);
    StringBuilder sb = new StringBuilder();
    sb.append("<section id=\"").append(id).append("\">\n<h2>").append(Html.esc(heading));
    sb.append("</h2>\n");
    for (String f : facts) {
      sb.append("<div class=\"mono\">").append(Html.esc(f)).append("</div>\n");
    }
    sb.append("<div class=\"dim\">outcome ").append(run.outcome());
    sb.append(", ").append(run.steps()).append(" scheduling points, ");
    sb.append(run.trace().size()).append(" events</div>\n");
    if (violation != null) {
      sb.append("<div class=\"violation\"><b>").append(violation.kind()).append("</b> ");
      sb.append(Html.esc(violation.summary()));
      if (t.marked() >= 0) {
        TraceEntry e = t.entries().get(t.marked());
        sb.append("<br>It happens in <b>").append(Html.esc(e.thread())).append("</b> right after ");
        sb.append("<a href=\"#").append(id).append("-mark\">this event</a>: ");
        sb.append("<span class=\"mono\">").append(Html.esc(e.toString())).append("</span>");
      }
      sb.append("</div>\n");
    }
    legend(sb, t);
    picture(sb, id, t, violation);
    if (violation != null) {
      sb.append("<h3>Checker events before the violation (oldest first)</h3>\n<pre>");
      violation.trace().forEach(line -> sb.append(Html.esc(line)).append('\n'));
      sb.append("</pre>\n");
    }
    if (fullTrace) {
      sb.append("<details><summary>Scheduler trace (").append(run.trace().size());
      sb.append(" events)</summary>\n<pre>").append(Html.esc(run.trace().render()));
      sb.append("</pre></details>\n");
    }
    sb.append("</section>\n");
    return sb.toString();
  }

  private static void legend(StringBuilder sb, Timeline t) {
    sb.append("<p class=\"legend\">");
    for (Timeline.Lane lane : t.lanes()) {
      sb.append("<span><b>").append(Html.esc(lane.thread())).append("</b> ");
      sb.append(lane.kind().title()).append("</span>");
    }
    sb.append("<br><span><i class=\"swatch\" style=\"background:#2f6fd6;opacity:.35\"></i>");
    sb.append("invalidation window (invalidate start returned … invalidate end)</span>");
    sb.append("<span><i class=\"swatch\" style=\"border:2px solid #b3261e\"></i>");
    sb.append("violating event</span><span><i class=\"swatch\" style=\"background:#e08a00\"></i>");
    sb.append("a thread blocked (lock, wait queue, completion, join)</span>");
    sb.append("<span class=\"dim\">grey: lock operations</span></p>\n");
  }

  private static void picture(
      StringBuilder sb, String id, Timeline t, @Nullable Violation violation) {
    int size = t.entries().size();
    int to = t.marked() >= 0 ? Math.min(size, t.marked() + 1 + ROWS_AFTER_MARK) : size;
    int from = Math.max(0, to - MAX_ROWS);
    if (from > 0 || to < size) {
      sb.append("<p class=\"dim\">Drawn: events ").append(from).append(" to ").append(to - 1);
      sb.append(" of ").append(size).append(".</p>\n");
    }
    Map<String, Integer> laneIndex = new HashMap<>();
    for (Timeline.Lane lane : t.lanes()) {
      laneIndex.put(lane.thread(), laneIndex.size());
    }
    List<Timeline.Band> bands = new ArrayList<>();
    for (Timeline.Band b : t.bands()) {
      if (b.to() >= from && b.from() < to) {
        bands.add(b);
      }
    }
    int[] slots = slots(bands);
    int slotCount = 0;
    for (int s : slots) {
      slotCount = Math.max(slotCount, s + 1);
    }
    int lanesEnd = STEP_W + t.lanes().size() * LANE_W;
    int captionX = lanesEnd + 8 + slotCount * BAR_GAP + 6;
    int width = captionX + CAPTION_W;
    int height = (to - from) * ROW_H + 8;

    sb.append("<div class=\"scroll\">\n<div class=\"lanes\"><svg width=\"").append(width);
    sb.append("\" height=\"26\" role=\"img\" aria-label=\"lanes\">");
    for (Timeline.Lane lane : t.lanes()) {
      int x = STEP_W + laneOf(laneIndex, lane.thread()) * LANE_W;
      sb.append("<rect x=\"").append(x + 1).append("\" y=\"1\" width=\"").append(LANE_W - 2);
      sb.append("\" height=\"24\" fill=\"#eef1f5\"/>");
      sb.append("<text class=\"lane-title\" x=\"").append(x + 6).append("\" y=\"17\">");
      sb.append(Html.esc(fit(lane.thread() + " · " + lane.kind().title(), LANE_W - 12)));
      sb.append("</text>");
    }
    sb.append("<text class=\"lane-title\" x=\"").append(lanesEnd + 8);
    sb.append("\" y=\"17\">invalidation windows</text></svg></div>\n");

    sb.append("<svg width=\"").append(width).append("\" height=\"").append(height);
    sb.append("\" role=\"img\" aria-label=\"swimlane timeline\">\n");
    for (int i = 0; i < bands.size(); i++) {
      band(sb, bands.get(i), slots[i], from, to, lanesEnd, captionX, laneIndex);
    }
    for (Timeline.Wait w : t.waits()) {
      if (w.to() >= from && w.from() < to) {
        waitBar(sb, w, from, to, laneIndex);
      }
    }
    for (int l = 0; l <= t.lanes().size(); l++) {
      int x = STEP_W + l * LANE_W;
      sb.append("<line x1=\"").append(x).append("\" y1=\"0\" x2=\"").append(x);
      sb.append("\" y2=\"").append(height).append("\" stroke=\"#dde1e8\"/>\n");
    }
    for (int i = from; i < to; i++) {
      TraceEntry e = t.entries().get(i);
      int y = (i - from) * ROW_H;
      int x = STEP_W + laneOf(laneIndex, e.thread()) * LANE_W;
      if (i == t.marked()) {
        mark(sb, id, x, y, lanesEnd, captionX, violation);
      }
      sb.append("<text class=\"step\" x=\"4\" y=\"").append(y + 13).append("\">#");
      sb.append(e.step()).append("</text>");
      sb.append("<text class=\"").append(i == t.marked() ? "mark" : cssClass(e.label()));
      sb.append("\" x=\"").append(x + 6).append("\" y=\"").append(y + 13).append("\"><title>");
      sb.append(Html.esc(e.toString())).append("</title>");
      sb.append(Html.esc(fit(e.label(), LANE_W - 12))).append("</text>\n");
    }
    sb.append("</svg>\n</div>\n");
  }

  private static void band(
      StringBuilder sb,
      Timeline.Band b,
      int slot,
      int from,
      int to,
      int lanesEnd,
      int captionX,
      Map<String, Integer> laneIndex) {
    String color = BAND_COLORS[slot % BAND_COLORS.length];
    int y0 = (Math.max(b.from(), from) - from) * ROW_H;
    int y1 = (Math.min(b.to(), to - 1) - from + 1) * ROW_H;
    int owner = STEP_W + laneOf(laneIndex, b.thread()) * LANE_W;
    int bar = lanesEnd + 8 + slot * BAR_GAP;
    sb.append("<g><title>").append(Html.esc(b.caption())).append("</title>");
    rect(sb, STEP_W, y0, lanesEnd - STEP_W, y1 - y0, color, ".08");
    rect(sb, owner, y0, LANE_W, y1 - y0, color, ".12");
    rect(sb, bar, y0, 6, y1 - y0, color, ".85");
    sb.append("<line x1=\"").append(STEP_W).append("\" y1=\"").append(y0).append("\" x2=\"");
    sb.append(bar).append("\" y2=\"").append(y0).append("\" stroke=\"").append(color);
    sb.append("\" stroke-dasharray=\"4 3\"/>");
    sb.append("<text class=\"band-label\" x=\"").append(captionX).append("\" y=\"");
    sb.append(y0 + 13).append("\" fill=\"").append(color).append("\">");
    sb.append(Html.esc(fit(b.caption(), CAPTION_W - 8))).append("</text></g>\n");
  }

  /** A wait: a bar down the waiting thread's lane, from its block to its next event. */
  private static void waitBar(
      StringBuilder sb, Timeline.Wait w, int from, int to, Map<String, Integer> laneIndex) {
    int y0 = (Math.max(w.from(), from) - from) * ROW_H;
    int y1 = (Math.min(w.to(), to - 1) - from + 1) * ROW_H;
    int x = STEP_W + laneOf(laneIndex, w.thread()) * LANE_W + LANE_W - 6;
    sb.append("<g class=\"wait\"><title>").append(Html.esc(w.caption())).append("</title>");
    rect(sb, x, y0, 4, y1 - y0, "#e08a00", ".8");
    sb.append("</g>\n");
  }

  private static void rect(
      StringBuilder sb, int x, int y, int w, int h, String color, String opacity) {
    sb.append("<rect x=\"").append(x).append("\" y=\"").append(y).append("\" width=\"");
    sb.append(w).append("\" height=\"").append(h).append("\" fill=\"").append(color);
    sb.append("\" fill-opacity=\"").append(opacity).append("\"/>");
  }

  private static void mark(
      StringBuilder sb,
      String id,
      int x,
      int y,
      int lanesEnd,
      int captionX,
      @Nullable Violation v) {
    sb.append("<rect id=\"").append(id).append("-mark\" x=\"").append(STEP_W + 1);
    sb.append("\" y=\"").append(y).append("\" width=\"").append(lanesEnd - STEP_W - 2);
    sb.append("\" height=\"").append(ROW_H).append("\" fill=\"#b3261e\" fill-opacity=\".08\"");
    sb.append(" stroke=\"#b3261e\" stroke-width=\"2\"/>");
    sb.append("<rect x=\"").append(x + 1).append("\" y=\"").append(y + 1).append("\" width=\"");
    sb.append(LANE_W - 2).append("\" height=\"").append(ROW_H - 2);
    sb.append("\" fill=\"#fbd5d1\"/>");
    String what =
        (v == null ? "✖ violation" : "✖ " + v.kind() + " by " + v.deviceId())
            + ", right after this";
    sb.append("<text class=\"mark\" x=\"").append(captionX).append("\" y=\"").append(y + 13);
    sb.append("\">").append(Html.esc(fit(what, CAPTION_W - 8))).append("</text>\n");
  }

  /** Greedy interval colouring: each band gets the lowest bar slot free over its rows. */
  private static int[] slots(List<Timeline.Band> bands) {
    int[] slots = new int[bands.size()];
    List<Integer> slotEnds = new ArrayList<>();
    for (int i = 0; i < bands.size(); i++) {
      Timeline.Band b = bands.get(i);
      int s = 0;
      while (s < slotEnds.size() && slotEnds.get(s) >= b.from()) {
        s++;
      }
      if (s == slotEnds.size()) {
        slotEnds.add(b.to());
      } else {
        slotEnds.set(s, b.to());
      }
      slots[i] = s;
    }
    return slots;
  }

  private static String cssClass(String label) {
    if (label.startsWith("failed: ")) {
      return "fail";
    }
    if (label.endsWith(Timeline.WINDOW_START) || label.endsWith(Timeline.WINDOW_END)) {
      return "win";
    }
    if (label.contains(" before DMA ")) {
      return "dma";
    }
    String first = label.split(" ", 2)[0].toLowerCase(Locale.ROOT);
    return switch (first) {
      case "lock",
          "acquired",
          "unlock",
          "trylock",
          "down_read",
          "down_write",
          "up_read",
          "up_write",
          "down_read_trylock",
          "down_write_trylock" ->
          "lk";
      default -> "ev";
    };
  }

  /** Shortens {@code s} with an ellipsis to fit {@code px} pixels of monospace text. */
  private static String fit(String s, int px) {
    int max = (int) (px / CHAR_W);
    return s.length() <= max ? s : s.substring(0, Math.max(1, max - 1)) + "…";
  }

  /** The lane of {@code thread}: every thread drawn was given one. */
  private static int laneOf(Map<String, Integer> lanes, String thread) {
    return Objects.requireNonNull(lanes.get(thread), thread);
  }
}
