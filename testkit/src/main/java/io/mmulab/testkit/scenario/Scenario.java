package io.mmulab.testkit.scenario;

import io.mmulab.api.ErrnoException;
import io.mmulab.sim.sched.FaultPlan;

/**
 * A small concurrent program of CPU threads and device work over one simulated process: the unit
 * the conformance suite runs, under the deterministic runtime, once per seed and driver variant.
 *
 * <p>A scenario is written against {@link ScenarioContext} only: the process, its memory, and the
 * driver under test through the {@link io.mmulab.api.driver.DriverAdapter} verbs ({@code read},
 * {@code write}, {@code prefetch}, {@code submit}, {@code teardown}) and {@link
 * io.mmulab.api.driver.DriverFactory#create}. It never assumes a particular driver. Device calls
 * that race with the CPU go through the context's {@code try…} helpers, which accept any {@link
 * io.mmulab.api.Errno} (a driver may refuse a racing access); calls made directly on the adapter
 * must succeed. The coherency checker judges every device access; {@link ScenarioContext#expect}
 * adds what the checker cannot see (a device that returns made-up data, say).
 *
 * <p>Each implementation states in its javadoc the race it probes and the verbs it uses. Names are
 * stable: drivers name them in {@link io.mmulab.api.driver.DeclaredRace#scenario()}.
 */
public interface Scenario {
  /**
   * Returns the scenario's name, such as {@code "munmap-vs-fault"}.
   *
   * @return a stable, kebab-case name
   */
  String name();

  /**
   * Returns the race the scenario probes, in a sentence or two, for reports.
   *
   * @return the description
   */
  String description();

  /**
   * Returns the fault-injection knobs the scenario runs with; none by default.
   *
   * @return the plan
   */
  default FaultPlan faults() {
    return FaultPlan.NONE;
  }

  /**
   * Runs the program as simulated thread {@code main}. The runner joins every thread the program
   * spawned through {@code ctx}, tears down every adapter it created and exits every process still
   * alive afterwards (so a subscription a driver forgot to remove is caught).
   *
   * @param ctx the process, the driver and the helpers
   * @throws ErrnoException if a call that must succeed fails; the run fails with it
   */
  void run(ScenarioContext ctx) throws ErrnoException;
}
