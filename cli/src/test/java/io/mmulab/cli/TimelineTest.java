package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.FaultPlan;
import io.mmulab.sim.sched.Outcome;
import io.mmulab.sim.sched.RunResult;
import io.mmulab.sim.sched.SchedulerConfig;
import io.mmulab.sim.sched.Trace;
import io.mmulab.sim.sched.TraceEntry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TimelineTest {
  /** A device reading a page through a translation that a munmap window makes stale. */
  static final Trace RACE =
      trace(
          "main: spawn mirror",
          "mirror: yield hmm: after page lookup",
          "munmap: down_write p#1.mmap_lock",
          "munmap: lock mirror0.update",
          "munmap: yield mirror0 invalidate [0x10000, 0x11000)",
          "munmap: yield munmap: between invalidate start and PTE change",
          "mirror: yield mirror0 translated 0x10000 -> pfn 5, before DMA read",
          "munmap: lock p#1.ptl",
          "munmap: acquired p#1.ptl",
          "munmap: yield thp split: between invalidate start and PTE change",
          "munmap: yield thp split: between PTE change and invalidate end",
          "munmap: yield munmap: between PTE change and invalidate end",
          "mirror: yield mirror0 translated 0x10000 -> pfn 5, before DMA read",
          "mirror.ring/0: yield mirror.ring before signalling fence 1",
          "main: end");

  static final Violation STALE =
      new Violation(
          ViolationKind.STALE_USE,
          "mirror0",
          "p#1",
          0x10008,
          5,
          "uses a translation made before callback #7 returned",
          List.of(
              "#6 callbackEntered mirror0 sub=null mm=p#1 [0x10000, 0x11000)",
              "#7 callbackReturned mirror0 sub=null mm=p#1 [0x10000, 0x11000) seq=1",
              "#8 deviceAccess mirror0 mm=p#1 va=0x10008 pfn=5 read"));

  static Trace trace(String... lines) {
    List<TraceEntry> entries = new ArrayList<>();
    for (String line : lines) {
      String[] parts = line.split(": ", 2);
      entries.add(new TraceEntry(entries.size(), entries.size() * 1000L, parts[0], parts[1]));
    }
    return new Trace(entries);
  }

  static RunResult result(Trace trace) {
    return new RunResult(
        Outcome.OK,
        trace,
        List.of(1, 0, 1),
        null,
        null,
        "OK",
        null,
        trace.size(),
        trace.size() * 1000L,
        new SchedulerConfig(17, 100_000, 1_000, FaultPlan.NONE));
  }

  @Test
  void waits_runFromTheBlockToTheThreadsNextEvent_orToTheEndWhenStillBlocked() {
    Trace t =
        trace(
            "t1: lock A",
            "t2: lock B",
            "t1: blocked on B",
            "t2: blocked on A",
            "main: blocked on join t1",
            "t1: acquired B");
    List<Timeline.Wait> waits = Timeline.of(t, -1).waits();

    assertThat(waits)
        .containsExactly(
            new Timeline.Wait("t1", "B", 2, 4),
            new Timeline.Wait("t2", "A", 3, 5),
            new Timeline.Wait("main", "join t1", 4, 5));
    assertThat(TimelineHtml.section("t9", "waits", List.of(), result(t), null, -1, false))
        .contains("<title>t2 waits for A</title>", "a thread blocked");
  }

  @Test
  void lanes_areThreadsInOrderOfAppearance_classifiedByWhatTheyDo() {
    assertThat(Timeline.of(RACE, -1).lanes())
        .containsExactly(
            new Timeline.Lane("main", Timeline.LaneKind.DRIVER),
            new Timeline.Lane("mirror", Timeline.LaneKind.DEVICE),
            new Timeline.Lane("munmap", Timeline.LaneKind.CPU),
            new Timeline.Lane("mirror.ring/0", Timeline.LaneKind.DEVICE));
  }

  @Test
  void bands_pairStartAndEndPerThread_nested_withTheRangeOfTheCallback() {
    assertThat(Timeline.bands(RACE.entries()))
        .containsExactly(
            new Timeline.Band("munmap", "munmap", "[0x10000, 0x11000)", 3, 11),
            new Timeline.Band("munmap", "thp split", "", 9, 10));
  }

  @Test
  void bands_neverClosed_runToTheEnd() {
    Trace t = trace("cpu: yield exit: between invalidate start and PTE change", "cpu: end");
    assertThat(Timeline.bands(t.entries()))
        .containsExactly(new Timeline.Band("cpu", "exit", "", 0, 1));
  }

  @Test
  void html_hasEveryLane_theBands_andTheMarkedViolation() {
    String html =
        Html.document(
            "race",
            TimelineHtml.section(
                "r1", "dmirror legacy", List.of("seed 17"), result(RACE), STALE, 6, true));
    assertThat(html)
        .startsWith("<!DOCTYPE html>")
        .doesNotContain("<script", "http://", "https://", "<link")
        .contains(">main · driver thread<", ">mirror · device<", ">munmap · CPU thread<")
        .contains(">mirror.ring/0 · device<")
        .contains("munmap window [0x10000, 0x11000) (munmap)", "thp split window (munmap)")
        .contains("id=\"r1-mark\"", "href=\"#r1-mark\"", "✖ STALE_USE by mirror0, right after this")
        .contains("uses a translation made before callback #7 returned")
        .contains("<b>mirror</b> right after")
        .contains("#6 @6000ns mirror: yield mirror0 translated 0x10000 -&gt; pfn 5")
        .contains("<summary>Scheduler trace (15 events)</summary>");
  }

  @Test
  void html_longTrace_isDrawnUpToALittlePastTheMark() {
    String[] lines = new String[2000];
    for (int i = 0; i < lines.length; i++) {
      lines[i] = "t" + (i % 3) + ": yield step " + i;
    }
    lines[1500] = "mirror: yield mirror0 translated 0x10000 -> pfn 5, before DMA read";
    String html =
        TimelineHtml.section("x", "h", List.of(), result(trace(lines)), STALE, 1500, false);
    assertThat(html)
        .contains("Drawn: events 1031 to 1530 of 2000", "id=\"x-mark\"")
        .doesNotContain("Scheduler trace");
  }
}
