package io.mmulab.testkit.lincheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import org.jspecify.annotations.Nullable;

/**
 * One model-checked run of a driver's two-thread scenario, timed and printed, and the two verdicts
 * a driver's Lincheck test gives on it: the legacy port's race was found, or the consolidated port
 * is clean. The caller passes the model checker's entry point ({@code () ->
 * Lincheck.runConcurrentTest(n, scenario)}), so this module does not depend on Lincheck.
 */
public final class LincheckRun {
  private static final String INTERLEAVING = "The following interleaving leads to the error";

  private LincheckRun() {}

  /**
   * Runs the model checker once and prints one line: the label, the outcome, the invocation budget,
   * the wall time and the process CPU time (wall time alone says little on a shared machine).
   *
   * @param label what is checked, for example {@code "radeon LEGACY"}
   * @param invocations the budget given to the model checker, for the printed line
   * @param modelCheck the model checker's run
   * @return what the run threw, or null if it was clean
   */
  public static @Nullable Throwable run(String label, int invocations, Runnable modelCheck) {
    long wall0 = System.nanoTime();
    long cpu0 = processCpuNanos();
    Throwable thrown = null;
    try {
      modelCheck.run();
    } catch (Throwable t) { // the model checker reports a failure as an AssertionError
      thrown = t;
    }
    System.out.printf(
        "%s lincheck: %s, up to %d invocations, %d ms wall, %d ms process CPU%n",
        label,
        thrown == null ? "clean" : "caught",
        invocations,
        (System.nanoTime() - wall0) / 1_000_000,
        (processCpuNanos() - cpu0) / 1_000_000);
    return thrown;
  }

  /**
   * Asserts that the model checker found a failing interleaving and reported it with the scenario's
   * own message.
   *
   * @param thrown what {@link #run} returned
   * @param race what the model checker had to find, for the failure message
   * @param messageParts what the scenario's failure message says, each part in turn; none for a
   *     failure without one (a deadlock)
   */
  public static void assertFound(@Nullable Throwable thrown, String race, String... messageParts) {
    if (thrown == null) {
      throw new AssertionError("Lincheck must find " + race + ", but the run was clean");
    }
    assertThat(thrown).as("what Lincheck threw").isInstanceOf(AssertionError.class);
    assertThat(thrown.getClass().getName()).startsWith("org.jetbrains.");
    if (messageParts.length > 0) {
      assertThat(thrown.getMessage()).contains(messageParts).contains(INTERLEAVING);
    }
  }

  /**
   * Asserts that the model checker found nothing, rethrowing what it found otherwise.
   *
   * @param thrown what {@link #run} returned
   */
  public static void assertClean(@Nullable Throwable thrown) {
    if (thrown != null) {
      throw new AssertionError("Lincheck found a failure:\n" + thrown, thrown);
    }
  }

  private static long processCpuNanos() {
    return ManagementFactory.getOperatingSystemMXBean()
            instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime()
        : 0;
  }
}
