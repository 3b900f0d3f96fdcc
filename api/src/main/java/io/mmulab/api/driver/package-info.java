/**
 * The driver SPI: how a driver port plugs into mmulab and what scenarios drive.
 *
 * <p>A driver module ships a {@link io.mmulab.api.driver.DriverPlugin} listed in {@code
 * META-INF/services/io.mmulab.api.driver.DriverPlugin}. Its Guice module adds one {@link
 * io.mmulab.api.driver.DriverFactory} to the {@code MapBinder<String, DriverFactory>} under the
 * driver's name. The factory creates a {@link io.mmulab.api.driver.DriverAdapter} per variant
 * (legacy, consolidated, as merged) for a process on a machine; scenarios make the device access
 * user memory through the adapter while the machine changes the address space, and the coherency
 * checker judges every access by the driver's {@link io.mmulab.api.driver.CoherencyModel}.
 */
@NullMarked
package io.mmulab.api.driver;

import org.jspecify.annotations.NullMarked;
