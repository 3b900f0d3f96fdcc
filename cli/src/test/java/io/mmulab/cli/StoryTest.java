package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.driver.ViolationKind;
import io.mmulab.sim.check.Violation;
import io.mmulab.sim.sched.TraceEntry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The causal chain picked from a journaled trace, on hand-written traces. */
class StoryTest {
  private static final Violation STALE =
      new Violation(
          ViolationKind.STALE_USE,
          "gpu0",
          "app#1",
          0x10001000L,
          3,
          "maps frame 3 but the CPU entry is none since #9",
          List.of());

  /** A trace builder: one entry per call, steps counting up. */
  private static final class T {
    final List<TraceEntry> entries = new ArrayList<>();

    T add(String thread, String label) {
      entries.add(new TraceEntry(entries.size(), entries.size() * 1000L, thread, label));
      return this;
    }

    T noise(String thread, int n) {
      for (int i = 0; i < n; i++) {
        add(thread, "yield munmap: not yet");
      }
      return this;
    }
  }

  private static T staleLookupRace() {
    return new T()
        .add("device", "readBegin interval[0x10000000, 0x10ffffff] of app#1: seq 1")
        .add("device", "down_read app#1.mmap_lock")
        .add("device", "acquired app#1.mmap_lock (read)")
        .add("device", "gup lookup 0x10001000 -> pfn 3")
        .add("device", "yield gup: after page lookup")
        .add("device", "up_read app#1.mmap_lock")
        .noise("munmap", 40)
        .add("munmap", "acquired app#1.mmap_lock (write)")
        .add("munmap", "checker #7 callbackEntered gpu0 sub=mn mm=app#1 [0x10001000, 0x10003000)")
        .add("munmap", "setSeq interval[0x10000000, 0x10ffffff] of app#1: seq 3")
        .add("munmap", "checker #8 callbackReturned gpu0 sub=mn mm=app#1 [0x10001000, 0x10003000)")
        .add("munmap", "yield munmap: between invalidate start and PTE change")
        .add("munmap", "checker #9 cpuPteChanged mm=app#1 va=0x10001000 pfn 3 rw -> none")
        .add("munmap", "yield munmap: between PTE change and invalidate end")
        .add("munmap", "checker #10 frameFreed pfn=3 gen=1")
        .noise("munmap", 30)
        .add("device", "acquired gpu0.lock")
        .add("device", "checker #11 deviceMapped gpu0 mm=app#1 va=0x10001000 pfn=3 ro")
        .add("device", "checker violation " + STALE.summary());
  }

  @Test
  void violationStory_followsThePageAndFrame_andCallsOutTheMissingCheck() {
    Story s = Story.ofViolation(staleLookupRace().entries, STALE);

    assertThat(s.steps())
        .extracting(st -> st.role().css())
        .contains("lookup", "seq", "invalidation", "pte", "frame", "program", "violation");
    assertThat(s.steps())
        .extracting(Story.Step::text)
        .contains(
            "gup lookup 0x10001000 -> pfn 3", "munmap: between invalidate start and PTE change")
        .noneMatch(t -> t.contains("not yet"));
    assertThat(s.steps()).hasSizeLessThanOrEqualTo(Story.MAX_STEPS);
    assertThat(s.lanes()).containsExactly("device", "munmap");
    assertThat(s.windows()).hasSize(1);
    assertThat(s.arrows())
        .extracting(Story.Arrow::label)
        .contains("app#1.mmap_lock", "CPU entry changed first");
    assertThat(s.callouts())
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.good()).isFalse();
              assertThat(c.text()).contains("no readRetry");
              assertThat(s.steps().get(c.after()).role()).isEqualTo(Story.Role.LOOKUP);
            });
  }

  @Test
  void aProgrammingBeforeTheInvalidation_isNotCalledAStaleLookup() {
    T t =
        new T()
            .add("main", "gup lookup 0x10001000 -> pfn 3")
            .add("main", "checker #4 deviceMapped gpu0 mm=app#1 va=0x10001000 pfn=3 ro")
            .add("exit", "yield exit: between invalidate start and PTE change")
            .add("exit", "checker #5 cpuPteChanged mm=app#1 va=0x10001000 pfn 3 rw -> none")
            .add("exit", "checker violation " + STALE.summary());
    Story s = Story.ofViolation(t.entries, STALE);
    assertThat(s.callouts()).isEmpty();
    assertThat(s.steps()).extracting(st -> st.role().css()).contains("lookup", "program", "pte");
  }

  @Test
  void aLongTrace_isCutToTheLimit_keepingWhatMakesTheRace() {
    T t = new T();
    for (int i = 0; i < 200; i++) {
      t.add("main", "checker #" + i + " deviceAccess gpu0 mm=app#1 va=0x10001000 pfn=3 read");
    }
    t.entries.addAll(staleLookupRace().entries);
    Story s = Story.ofViolation(t.entries, STALE);
    assertThat(s.steps()).hasSizeLessThanOrEqualTo(Story.MAX_STEPS);
    assertThat(s.steps())
        .extracting(st -> st.role().css())
        .contains("lookup", "invalidation", "pte", "program", "violation");
  }

  @Test
  void fixedStory_centresOnTheCollision_andSaysTheCheckWorked() {
    T t =
        new T()
            .add("device", "readBegin interval[0x10001000, 0x10001fff] of app#1: seq 1")
            .add("device", "gup lookup 0x10001000 -> pfn 3")
            .add(
                "munmap",
                "checker #7 callbackEntered gpu0 sub=mn mm=app#1 [0x10001000, 0x10002000)")
            .add("munmap", "setSeq interval[0x10001000, 0x10001fff] of app#1: seq 3")
            .add("munmap", "yield munmap: between invalidate start and PTE change")
            .add("munmap", "checker #9 cpuPteChanged mm=app#1 va=0x10001000 pfn 3 rw -> none")
            .add("munmap", "yield munmap: between PTE change and invalidate end")
            .add("device", "acquired gpu0.lock")
            .add(
                "device",
                "readRetry interval[0x10001000, 0x10001fff] of app#1: seq 1 is now 3, retry")
            .add("device", "readBegin interval[0x10001000, 0x10001fff] of app#1: seq 3");
    Story s = Story.ofFixed(t.entries, 0x10001234L, "munmap");
    assertThat(s.title()).contains("caught the collision");
    assertThat(s.callouts()).singleElement().satisfies(c -> assertThat(c.good()).isTrue());
    assertThat(s.steps())
        .extracting(Story.Step::text)
        .contains("gup lookup 0x10001000 -> pfn 3")
        .anyMatch(x -> x.endsWith("is now 3, retry"));
    assertThat(s.arrows()).isEmpty();
  }

  @Test
  void stallStory_drawsEachWaitTowardsWhatHoldsIt() {
    T t =
        new T()
            .add("munmap", "acquired drv.a")
            .add("device", "acquired drv.b")
            .noise("device", 5)
            .add("munmap", "blocked on drv.b")
            .add("device", "blocked on drv.a");
    Story s = Story.ofStall(t.entries, "a cycle of waits: munmap → device → munmap");
    assertThat(s.steps())
        .extracting(st -> st.role().css())
        .containsExactly("lock", "lock", "wait", "wait");
    assertThat(s.arrows()).hasSize(2).allSatisfy(a -> assertThat(a.label()).isEqualTo("waits for"));
    String svg = StorySvg.render(s, "legacy");
    assertThat(svg).contains("data-steps=\"4\"", "class=\"st r-wait\"", "marker-end");
  }

  @Test
  void picture_hasALanePerThread_aBoxPerStep_andTheWindow() {
    Story s = Story.ofViolation(staleLookupRace().entries, STALE);
    String svg = StorySvg.render(s, "legacy");
    assertThat(svg)
        .startsWith("<svg class=\"story\" data-steps=\"" + s.steps().size() + "\"")
        .contains(">device</text>", ">munmap</text>", "class=\"band\"", "class=\"co bad\"")
        .doesNotContainPattern(">[^<]* mm=app#1[^<]*</text>");
    assertThat(svg.split("<g class=\"st ", -1)).hasSize(s.steps().size() + 1);
  }
}
