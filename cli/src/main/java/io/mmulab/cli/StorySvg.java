package io.mmulab.cli;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Draws a {@link Story} as an SVG swimlane: time flows down, one lane per thread, one row per event
 * (a box in its thread's lane, its trace step on the left), the invalidation windows as bands, an
 * arrow for each ordering that mattered and the remarks as call-outs under the event they follow.
 * Styled by the report's sheet (classes only), so each picture stays small.
 */
final class StorySvg {
  private static final int STEP_W = 58;
  private static final int LANE_W = 290;
  private static final int BOX_W = LANE_W - 34;
  private static final int ROW_H = 34;
  private static final int HEAD_H = 26;
  private static final int CALLOUT_H = 22;
  private static final double CHAR_W = 6.6;

  /** The arrow head every story refers to; a page with stories holds it once. */
  static final String DEFS =
      "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>"
          + "<marker id=\"ah\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"7\""
          + " markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0L8,4L0,8z\"/>"
          + "</marker></defs></svg>\n";

  private StorySvg() {}

  /**
   * Renders the picture.
   *
   * @param story the story
   * @param side a caption for the picture's accessible name ("legacy", "fixed variant")
   * @return the SVG element
   */
  static String render(Story story, String side) {
    Map<String, Integer> lane = new HashMap<>();
    story.lanes().forEach(l -> lane.put(l, lane.size()));
    List<Story.Step> steps = story.steps();
    int[] y = new int[steps.size()];
    int at = HEAD_H + 4;
    for (int k = 0; k < steps.size(); k++) {
      y[k] = at;
      at += ROW_H;
      for (Story.Callout c : story.callouts()) {
        if (c.after() == k) {
          at += CALLOUT_H;
        }
      }
    }
    int width = STEP_W + Math.max(1, story.lanes().size()) * LANE_W + 8;
    int height = at + 6;
    StringBuilder sb = new StringBuilder();
    sb.append("<svg class=\"story\" data-steps=\"").append(steps.size()).append("\" width=\"");
    sb.append(width).append("\" height=\"").append(height).append("\" role=\"img\" aria-label=\"");
    sb.append(Html.esc(side)).append(": ").append(Html.esc(story.title())).append("\">\n");
    for (Story.Window w : story.windows()) {
      int top = y[w.from()] - 2;
      int bottom = y[w.to()] + ROW_H - 2;
      sb.append("<rect class=\"band\" x=\"").append(STEP_W).append("\" y=\"").append(top);
      sb.append("\" width=\"").append(width - STEP_W - 4).append("\" height=\"");
      sb.append(bottom - top).append("\"/><text class=\"band-t\" x=\"").append(width - 10);
      sb.append("\" y=\"").append(top + 11).append("\" text-anchor=\"end\">");
      sb.append(Html.esc(w.caption())).append("</text>\n");
    }
    for (String l : story.lanes()) {
      int x = STEP_W + laneOf(lane, l) * LANE_W;
      sb.append("<rect class=\"lane-h\" x=\"").append(x + 1).append("\" y=\"1\" width=\"");
      sb.append(LANE_W - 2).append("\" height=\"").append(HEAD_H - 4).append("\"/>");
      sb.append("<text class=\"lane-t\" x=\"").append(x + 6).append("\" y=\"16\">");
      sb.append(Html.esc(fit(l, LANE_W - 12))).append("</text>");
      sb.append("<line class=\"lane-l\" x1=\"").append(x + LANE_W / 2).append("\" y1=\"");
      sb.append(HEAD_H).append("\" x2=\"").append(x + LANE_W / 2).append("\" y2=\"");
      sb.append(height).append("\"/>\n");
    }
    for (int k = 0; k < steps.size(); k++) {
      Story.Step s = steps.get(k);
      int x = STEP_W + laneOf(lane, s.entry().thread()) * LANE_W;
      sb.append("<g class=\"st r-").append(s.role().css()).append("\"><title>#");
      sb.append(s.entry().step()).append(' ').append(Html.esc(s.entry().thread())).append(": ");
      sb.append(Html.esc(s.text())).append("</title><text class=\"no\" x=\"4\" y=\"");
      sb.append(y[k] + 14).append("\">#").append(s.entry().step()).append("</text><rect x=\"");
      sb.append(x + 4).append("\" y=\"").append(y[k]).append("\" width=\"").append(BOX_W);
      sb.append("\" height=\"").append(ROW_H - 4).append("\" rx=\"4\"/>");
      List<String> lines = lines(compact(s.text()), BOX_W - 10);
      for (int l = 0; l < lines.size(); l++) {
        sb.append("<text x=\"").append(x + 9).append("\" y=\"").append(y[k] + 13 + 13 * l);
        sb.append("\">").append(Html.esc(lines.get(l))).append("</text>");
      }
      sb.append("</g>\n");
      for (Story.Callout c : story.callouts()) {
        if (c.after() == k) {
          int cy = y[k] + ROW_H;
          sb.append("<g class=\"co ").append(c.good() ? "good" : "bad").append("\"><title>");
          sb.append(Html.esc(c.text())).append("</title><rect x=\"").append(x + 4);
          int w = Math.min(2 * LANE_W - 8, width - x - 12);
          sb.append("\" y=\"").append(cy - 2).append("\" width=\"").append(w);
          sb.append("\" height=\"").append(CALLOUT_H - 4).append("\" rx=\"4\"/><text x=\"");
          sb.append(x + 9).append("\" y=\"").append(cy + 11).append("\">");
          sb.append(Html.esc(fit(c.text(), w - 10))).append("</text></g>\n");
        }
      }
    }
    for (Story.Arrow a : story.arrows()) {
      arrow(sb, a, steps, y, lane);
    }
    sb.append("</svg>");
    return sb.toString();
  }

  private static void arrow(
      StringBuilder sb, Story.Arrow a, List<Story.Step> steps, int[] y, Map<String, Integer> lane) {
    int fromLane = laneOf(lane, steps.get(a.from()).entry().thread());
    int toLane = laneOf(lane, steps.get(a.to()).entry().thread());
    boolean right = toLane >= fromLane;
    int x1 = STEP_W + fromLane * LANE_W + (right ? 4 + BOX_W : 4);
    int x2 =
        STEP_W
            + toLane * LANE_W
            + (toLane > fromLane ? 4 : toLane == fromLane ? 4 + BOX_W : 4 + BOX_W);
    int y1 = y[a.from()] + ROW_H / 2 - 2;
    int y2 = y[a.to()] + ROW_H / 2 - 2;
    int bend = fromLane == toLane ? 26 : right ? 18 : -18;
    sb.append("<g class=\"ar\"><title>").append(Html.esc(a.label())).append("</title>");
    sb.append("<path d=\"M").append(x1).append(',').append(y1).append(" C").append(x1 + bend);
    sb.append(',')
        .append(y1)
        .append(' ')
        .append(x2 - (fromLane == toLane ? -bend : bend))
        .append(',');
    sb.append(y2).append(' ').append(x2).append(',').append(y2);
    sb.append("\" marker-end=\"url(#ah)\"/>");
    if (!a.lockHandOff()) {
      // Lock hand-offs are told by the boxes at both ends; other orderings need their words.
      int tx = fromLane == toLane ? x1 + bend + 4 : (x1 + x2) / 2;
      sb.append("<text x=\"").append(tx).append("\" y=\"").append((y1 + y2) / 2 + 4);
      sb.append("\" text-anchor=\"").append(fromLane == toLane ? "start" : "middle").append("\">");
      sb.append(Html.esc(fit(a.label(), LANE_W))).append("</text>");
    }
    sb.append("</g>\n");
  }

  /** Leaves out what every event of a one-process story repeats. */
  static String compact(String text) {
    return text.replaceAll(" mm=\\S+", "").replaceAll(" of [a-z0-9#_-]+: ", ": ");
  }

  /** Breaks {@code s} into at most two lines of {@code px} pixels, at spaces where it can. */
  static List<String> lines(String s, int px) {
    int max = (int) (px / CHAR_W);
    if (s.length() <= max) {
      return List.of(s);
    }
    int cut = s.lastIndexOf(' ', max);
    cut = cut < max / 2 ? max : cut;
    return List.of(s.substring(0, cut), fit(s.substring(cut).strip(), px));
  }

  /** Shortens {@code s} with an ellipsis to fit {@code px} pixels of monospace text. */
  static String fit(String s, int px) {
    int max = (int) (px / CHAR_W);
    return s.length() <= max ? s : s.substring(0, Math.max(1, max - 1)) + "…";
  }

  /** The lane of {@code thread}: every thread drawn was given one. */
  private static int laneOf(Map<String, Integer> lanes, String thread) {
    return Objects.requireNonNull(lanes.get(thread), thread);
  }
}
