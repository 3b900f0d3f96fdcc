/**
 * What the vhost driver's legacy port needs of the simulated kernel beyond the common parts: the
 * 5.3 core's rule for a refused non-blockable start ({@link io.mmulab.sim.vhost.Linux53Notifier}).
 */
@NullMarked
package io.mmulab.sim.vhost;

import org.jspecify.annotations.NullMarked;
