/**
 * What the simulated drivers share: {@link io.mmulab.sim.driver.DriverStats} (the counters behind
 * {@link io.mmulab.api.driver.DriverAdapter#counters()}), {@link
 * io.mmulab.sim.driver.SimDriverAdapter} (argument checks, torn-down check, fences) and {@link
 * io.mmulab.sim.driver.SimDriverFactory} (description, variants and their declared races).
 */
package io.mmulab.sim.driver;
