package io.mmulab.cli;

import io.mmulab.api.driver.DriverFactory;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.testkit.scenario.ScenarioRun;
import io.mmulab.testkit.scenario.ScenarioRunner;
import io.mmulab.testkit.scenario.ShrunkSchedule;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * One race of the report as a story: its schedule shrunk, the causal chain drawn from the shrunk
 * run ({@link Story}), beside it the same choices replayed on the fixed variant, and the whole
 * trace one click away (gzip-compressed in the page, unpacked by the browser when opened).
 */
final class RaceStory {
  /** Replays spent shrinking one race's schedule at most. */
  static final int SHRINK_ATTEMPTS = 150;

  private RaceStory() {}

  /**
   * Renders one race's section.
   *
   * @param id a page-unique identifier
   * @param heading the section heading
   * @param facts lines under the heading
   * @param driver the driver
   * @param variant the variant that showed it
   * @param f the first run that showed it
   * @return the HTML section
   */
  static String section(
      String id,
      String heading,
      List<String> facts,
      DriverFactory driver,
      DriverVariant variant,
      Finding f) {
    ScenarioRunner runner = new ScenarioRunner(driver, variant);
    ScenarioRun shown = f.run();
    String shrunkNote = "schedule as found (no smaller one reproduced it)";
    try {
      ShrunkSchedule s = runner.shrink(f.run(), run -> sameFailure(run, f), SHRINK_ATTEMPTS);
      if (sameFailure(s.run(), f)) {
        shown = s.run();
        shrunkNote = shrinkNote(f.run().result(), s);
      }
    } catch (IllegalArgumentException notReplayable) {
      shrunkNote = "schedule as found: " + notReplayable.getMessage();
    }
    RunResult r = shown.result();
    ScenarioRun journaled = runner.replayWithJournal(shown.scenario(), r.config(), r.choiceArray());
    Violation v = f.violation() == null ? null : matching(journaled, f.violation());
    Story legacy =
        v != null
            ? Story.ofViolation(journaled.result().trace().entries(), v)
            : Story.ofStall(journaled.result().trace().entries(), f.what());
    StringBuilder sb = new StringBuilder();
    sb.append("<section id=\"").append(id).append("\" class=\"race\">\n<h2>");
    sb.append(Html.esc(heading)).append("</h2>\n");
    facts.forEach(x -> sb.append("<div class=\"mono\">").append(Html.esc(x)).append("</div>\n"));
    sb.append("<div class=\"dim\">").append(Html.esc(shrunkNote)).append("</div>\n");
    sb.append("<div class=\"violation\"><b>")
        .append(Html.esc(legacy.title()))
        .append("</b></div>\n");
    sb.append("<div class=\"pair\">\n<figure class=\"side\"><figcaption>");
    sb.append(Html.esc(Catalog.name(variant))).append(": the race, ").append(legacy.steps().size());
    sb.append(" of ").append(legacy.traceSize()).append(" events</figcaption>\n");
    sb.append(StorySvg.render(legacy, Catalog.name(variant))).append("</figure>\n");
    long va = v == null || v.va() == CoherencyChecker.NO_VA ? -1 : v.va();
    if (variant != DriverVariant.CONSOLIDATED
        && driver.variants().contains(DriverVariant.CONSOLIDATED)) {
      ScenarioRun fixed =
          new ScenarioRunner(driver, DriverVariant.CONSOLIDATED)
              .replayWithJournal(shown.scenario(), r.config(), r.choiceArray());
      Story after =
          va >= 0
              ? Story.ofFixed(fixed.result().trace().entries(), va, legacy.invalidator())
              : Story.ofStall(
                  fixed.result().trace().entries(), "none: " + fixed.result().outcome());
      sb.append("<figure class=\"side fixed\"><figcaption>consolidated, the same ");
      sb.append(r.choices().size()).append(" choices: ").append(Html.esc(after.title()));
      sb.append(" (")
          .append(
              fixed.violations().isEmpty()
                  ? "no violation"
                  : fixed.violations().size() + " violations");
      sb.append(", outcome ").append(fixed.result().outcome()).append(")</figcaption>\n");
      sb.append(StorySvg.render(after, "consolidated")).append("</figure>\n");
    }
    sb.append("</div>\n");
    trace(sb, journaled);
    sb.append("</section>\n");
    return sb.toString();
  }

  private static boolean sameFailure(ScenarioRun run, Finding f) {
    if (f.violation() == null) {
      return run.result().outcome() == f.run().result().outcome();
    }
    return run.violations().stream()
        .anyMatch(
            x -> x.kind() == f.violation().kind() && x.deviceId().equals(f.violation().deviceId()));
  }

  private static Violation matching(ScenarioRun run, Violation wanted) {
    for (Violation x : run.violations()) {
      if (x.kind() == wanted.kind() && Objects.equals(x.deviceId(), wanted.deviceId())) {
        return x;
      }
    }
    return wanted;
  }

  private static String shrinkNote(RunResult found, ShrunkSchedule s) {
    long before = found.choices().stream().filter(c -> c != 0).count();
    return "shrunk schedule: "
        + s.preemptions()
        + " preemptions and "
        + s.run().result().steps()
        + " scheduling points, from "
        + before
        + " preemptions and "
        + found.steps()
        + " points as found ("
        + s.attempts()
        + " replays)";
  }

  /** The journaled trace, compressed: the page stays small, the browser unpacks it on opening. */
  private static void trace(StringBuilder sb, ScenarioRun run) {
    byte[] text = run.result().trace().render().getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream(text.length / 8);
    try (GZIPOutputStream gz =
        new GZIPOutputStream(out) {
          {
            def.setLevel(Deflater.BEST_COMPRESSION);
          }
        }) {
      gz.write(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    sb.append("<details class=\"trace\" data-gz=\"");
    sb.append(Base64.getEncoder().encodeToString(out.toByteArray()));
    sb.append("\"><summary>The whole trace of this run (").append(run.result().trace().size());
    sb.append(" events, with the checker's events and the sequence reads)</summary>");
    sb.append("<pre>unpacking…</pre></details>\n");
  }

  /** Unpacks a {@code details.trace} when it is opened (the page's only script). */
  static final String SCRIPT =
      "<script>document.addEventListener('toggle',async e=>{const d=e.target;"
          + "if(!d.open||!d.dataset.gz||d.dataset.done)return;d.dataset.done=1;"
          + "const p=d.querySelector('pre');try{const b=Uint8Array.from(atob(d.dataset.gz),"
          + "c=>c.charCodeAt(0));const s=new Blob([b]).stream().pipeThrough("
          + "new DecompressionStream('gzip'));p.textContent=await new Response(s).text();}"
          + "catch(x){p.textContent='this browser cannot unpack the trace: '+x+'; replay the"
          + " run with the command above to print it';}},true);</script>\n";
}
