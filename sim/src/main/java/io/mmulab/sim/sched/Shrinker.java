package io.mmulab.sim.sched;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Shrinks a failing choice list: delta debugging over the list (remove chunks of halving size while
 * the run still fails), then replacing each remaining choice by 0 ("no preemption", see {@link
 * ScheduleSource}), then removing single choices again. Every accepted candidate was replayed and
 * still failed, so the result always reproduces the failure. After each accepted candidate the list
 * is normalised to the choices the replay actually consumed, without trailing zeros (a replay
 * answers 0 past the end, so they change nothing).
 */
public final class Shrinker {
  /** Default bound on replays. */
  public static final int DEFAULT_MAX_ATTEMPTS = 500;

  /**
   * What shrinking produced.
   *
   * @param choices the shrunk choice list
   * @param run the replay of {@code choices}, which fails
   * @param attempts how many replays shrinking took
   */
  public record Result(List<Integer> choices, RunResult run, int attempts) {
    /**
     * Copies the list.
     *
     * @throws NullPointerException if a component is null
     */
    public Result {
      choices = List.copyOf(choices);
      Objects.requireNonNull(run, "run is null");
    }

    /**
     * Returns the choices as an array.
     *
     * @return a new array
     */
    public int[] choiceArray() {
      return choices.stream().mapToInt(Integer::intValue).toArray();
    }
  }

  private final SchedulerConfig config;
  private final Consumer<? super DeterministicRuntime> program;
  private final Predicate<? super RunResult> fails;
  private final int maxAttempts;
  private int attempts;

  private Shrinker(
      SchedulerConfig config,
      Consumer<? super DeterministicRuntime> program,
      Predicate<? super RunResult> fails,
      int maxAttempts) {
    this.config = Objects.requireNonNull(config, "config is null");
    this.program = Objects.requireNonNull(program, "program is null");
    this.fails = Objects.requireNonNull(fails, "fails is null");
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be positive: " + maxAttempts);
    }
    this.maxAttempts = maxAttempts;
  }

  /**
   * Shrinks {@code choices}.
   *
   * @param config the config of the failing run (its seed drives the faults)
   * @param program the program
   * @param fails what counts as the failure, such as {@code r -> r.outcome() == Outcome.FAILED}
   * @param choices the failing choice list
   * @param maxAttempts the most replays to spend, at least 1
   * @return the shrunk list and its failing replay
   * @throws IllegalArgumentException if {@code choices} does not fail on replay
   */
  public static Result shrink(
      SchedulerConfig config,
      Consumer<? super DeterministicRuntime> program,
      Predicate<? super RunResult> fails,
      int[] choices,
      int maxAttempts) {
    return new Shrinker(config, program, fails, maxAttempts).shrink(choices.clone());
  }

  /**
   * Shrinks the choices of {@code failing} with {@link #DEFAULT_MAX_ATTEMPTS}.
   *
   * @param failing a failing result of {@code program}
   * @param program the program
   * @param fails what counts as the failure
   * @return the shrunk list and its failing replay
   * @throws IllegalArgumentException if {@code failing} does not fail on replay
   */
  public static Result shrink(
      RunResult failing,
      Consumer<? super DeterministicRuntime> program,
      Predicate<? super RunResult> fails) {
    return shrink(failing.config(), program, fails, failing.choiceArray(), DEFAULT_MAX_ATTEMPTS);
  }

  private Result shrink(int[] start) {
    RunResult first = replay(start);
    if (!fails.test(first)) {
      throw new IllegalArgumentException(
          "the choice list does not fail on replay (seed "
              + config.seed()
              + "): "
              + first.outcome());
    }
    int[] best = normalise(first);
    RunResult bestRun = first;
    if (best.length > start.length) {
      best = start;
    }
    // 1. remove chunks, halving the chunk size when no removal of that size helps
    for (int chunk = Math.max(1, best.length / 2); chunk >= 1 && attempts < maxAttempts; ) {
      boolean progress = false;
      for (int from = 0; from < best.length && attempts < maxAttempts; ) {
        int[] cand = remove(best, from, chunk);
        RunResult r = replay(cand);
        if (fails.test(r)) {
          best = smaller(cand, normalise(r));
          bestRun = r;
          progress = true;
        } else {
          from += chunk;
        }
      }
      if (!progress) {
        chunk /= 2;
      } else {
        chunk = Math.min(chunk, Math.max(1, best.length / 2));
      }
    }
    // 2. replace choices by 0 (no preemption), from the end
    for (int i = best.length - 1; i >= 0 && attempts < maxAttempts; i--) {
      if (i >= best.length || best[i] == 0) {
        continue;
      }
      int[] cand = best.clone();
      cand[i] = 0;
      RunResult r = replay(cand);
      if (fails.test(r)) {
        best = smaller(cand, normalise(r));
        bestRun = r;
      }
    }
    // 3. one more pass of single removals
    for (int i = best.length - 1; i >= 0 && attempts < maxAttempts; i--) {
      if (i >= best.length) {
        continue;
      }
      int[] cand = remove(best, i, 1);
      RunResult r = replay(cand);
      if (fails.test(r)) {
        best = smaller(cand, normalise(r));
        bestRun = r;
      }
    }
    if (!Arrays.equals(best, bestRun.choiceArray()) && !Arrays.equals(best, normalise(bestRun))) {
      bestRun = replay(best);
    }
    return new Result(Arrays.stream(best).boxed().toList(), bestRun, attempts);
  }

  private RunResult replay(int[] choices) {
    attempts++;
    return Simulation.replay(config, choices, program);
  }

  /** The choices a replay consumed, without trailing zeros. */
  private static int[] normalise(RunResult r) {
    int[] c = r.choiceArray();
    int n = c.length;
    while (n > 0 && c[n - 1] == 0) {
      n--;
    }
    return Arrays.copyOf(c, n);
  }

  /** The candidate as replayed, or its normalised form when that is not longer. */
  private static int[] smaller(int[] candidate, int[] normalised) {
    return normalised.length <= candidate.length ? normalised : candidate;
  }

  private static int[] remove(int[] a, int from, int len) {
    int to = Math.min(a.length, from + len);
    int[] out = new int[a.length - (to - from)];
    System.arraycopy(a, 0, out, 0, from);
    System.arraycopy(a, to, out, from, a.length - to);
    return out;
  }
}
