package io.mmulab.testkit.scenario;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A failing schedule made smaller by {@link io.mmulab.sim.sched.Shrinker}: fewer preemptions, each
 * of them needed for the failure.
 *
 * @param choices the shrunk choice list (index into the runnable threads at each scheduling point
 *     with a choice; 0 = no preemption; 0 past the end)
 * @param originalLength how many choices the failing run made
 * @param attempts how many replays shrinking took
 * @param run the replay of {@code choices}, which fails the same way
 */
public record ShrunkSchedule(
    List<Integer> choices, int originalLength, int attempts, ScenarioRun run) {
  /** Copies the list. */
  public ShrunkSchedule {
    choices = List.copyOf(choices);
  }

  /**
   * Returns the choices as an array, for {@link ScenarioRunner#replay}.
   *
   * @return a new array
   */
  public int[] choiceArray() {
    return choices.stream().mapToInt(Integer::intValue).toArray();
  }

  /**
   * Returns how many preemptions (non-zero choices) the schedule makes.
   *
   * @return the count
   */
  public long preemptions() {
    return choices.stream().filter(c -> c != 0).count();
  }

  /**
   * Returns the choices run-length encoded, for reading: {@code 1, 0×15, 1, 0×11, 2}.
   *
   * @return the text
   */
  public String compact() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < choices.size(); ) {
      int c = choices.get(i);
      int n = 1;
      while (i + n < choices.size() && choices.get(i + n) == c) {
        n++;
      }
      sb.append(sb.length() == 0 ? "" : ", ").append(c).append(n > 1 ? "\u00d7" + n : "");
      i += n;
    }
    return sb.toString();
  }

  /**
   * Describes the schedule and how to replay it.
   *
   * @return multi-line text
   */
  public String describe() {
    return "shrunk schedule: "
        + choices.size()
        + " choices, "
        + preemptions()
        + " of them preemptions (from "
        + originalLength
        + " choices, "
        + attempts
        + " replays): ["
        + compact()
        + "]\n  replay it with runner = new ScenarioRunner(<factory>, DriverVariant."
        + run.variant()
        + "):\n  runner.replay(Scenarios.byName(\""
        + run.scenario().name()
        + "\"), runner.config(scenario, "
        + run.seed()
        + "), new int[] {"
        + choices.stream().map(String::valueOf).collect(Collectors.joining(", "))
        + "})";
  }
}
