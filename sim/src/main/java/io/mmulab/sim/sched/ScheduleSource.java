package io.mmulab.sim.sched;

import java.util.SplittableRandom;

/**
 * Where the scheduler's choices come from. At a scheduling point with at least two runnable
 * threads, the candidates are ordered as follows: the thread that reached the point first if it can
 * go on, then every other runnable thread in creation order. Choice 0 therefore means "no
 * preemption" (keep the current thread, or the oldest runnable one if the current thread blocked or
 * ended). The scheduler reduces any answer modulo the number of candidates and records the reduced
 * value, so every list of integers is a valid schedule.
 *
 * <p>Scheduling points with a single candidate consume no choice.
 */
public interface ScheduleSource {
  /**
   * Chooses one of {@code candidates} threads.
   *
   * @param candidates how many threads could run, at least 2
   * @return the index, any int (reduced modulo {@code candidates} by the scheduler)
   */
  int choose(int candidates);

  /**
   * Returns a source that picks uniformly at random from a {@link SplittableRandom} seeded with
   * {@code seed}.
   *
   * @param seed the seed
   * @return a new source
   */
  static ScheduleSource random(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    return rng::nextInt;
  }

  /**
   * Returns a source that replays {@code choices} and answers 0 (no preemption) past their end.
   *
   * @param choices a recorded choice list, copied
   * @return a new source
   */
  static ScheduleSource replay(int... choices) {
    int[] copy = choices.clone();
    return new ScheduleSource() {
      private int next;

      @Override
      public int choose(int candidates) {
        return next < copy.length ? copy[next++] : 0;
      }
    };
  }
}
