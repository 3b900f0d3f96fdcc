/**
 * What the simulated drivers share: {@link io.mmulab.sim.driver.DriverStats} (the counters behind
 * {@link io.mmulab.api.driver.DriverAdapter#counters()}), {@link
 * io.mmulab.sim.driver.SimDriverAdapter} (argument checks, torn-down check, fences) and {@link
 * io.mmulab.sim.driver.SimDriverFactory} (description, variants and their declared races), and the
 * small helpers every driver needs: {@link io.mmulab.sim.driver.DeviceIds} (device names numbered
 * per machine, so replays name devices and locks identically) and {@link
 * io.mmulab.sim.driver.SignaledFence} (the fence of a job that already ran).
 */
@NullMarked
package io.mmulab.sim.driver;

import org.jspecify.annotations.NullMarked;
