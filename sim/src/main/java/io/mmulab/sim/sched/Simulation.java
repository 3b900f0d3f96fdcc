package io.mmulab.sim.sched;

import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** Entry points: run a program once by seed, replay a choice list, search seeds. */
public final class Simulation {
  private Simulation() {}

  /**
   * Runs {@code program} on a fresh runtime with a random schedule seeded by {@code config.seed()}.
   *
   * @param config the config
   * @param program the body of simulated thread {@code "main"}; it receives the runtime
   * @return the result
   */
  public static RunResult run(
      SchedulerConfig config, Consumer<? super DeterministicRuntime> program) {
    return execute(new DeterministicRuntime(config), program);
  }

  /**
   * Runs {@code program} on a fresh runtime that replays {@code choices}.
   *
   * @param config the config (its seed drives the faults)
   * @param choices the recorded choices
   * @param program the body of simulated thread {@code "main"}
   * @return the result
   */
  public static RunResult replay(
      SchedulerConfig config, int[] choices, Consumer<? super DeterministicRuntime> program) {
    return execute(DeterministicRuntime.replaying(config, choices), program);
  }

  /**
   * Replays {@code previous} exactly: same config, same choices.
   *
   * @param previous an earlier result of the same program
   * @param program the program
   * @return the result, with a trace equal to {@code previous.trace()}
   */
  public static RunResult replay(
      RunResult previous, Consumer<? super DeterministicRuntime> program) {
    return replay(previous.config(), previous.choiceArray(), program);
  }

  /**
   * Runs {@code program} with seeds {@code base.seed()}, {@code base.seed() + 1}, … and returns the
   * first result matching {@code wanted}.
   *
   * @param base the config of the first run
   * @param seeds how many seeds to try, not negative
   * @param wanted what to look for, such as {@link RunResult#isFailure()}
   * @param program the program
   * @return the first matching result, or empty
   */
  public static Optional<RunResult> findSeed(
      SchedulerConfig base,
      int seeds,
      Predicate<? super RunResult> wanted,
      Consumer<? super DeterministicRuntime> program) {
    if (seeds < 0) {
      throw new IllegalArgumentException("seeds must not be negative: " + seeds);
    }
    for (int i = 0; i < seeds; i++) {
      RunResult r = run(base.withSeed(base.seed() + i), program);
      if (wanted.test(r)) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }

  private static RunResult execute(
      DeterministicRuntime rt, Consumer<? super DeterministicRuntime> program) {
    Objects.requireNonNull(program, "program is null");
    return rt.run(() -> program.accept(rt));
  }
}
