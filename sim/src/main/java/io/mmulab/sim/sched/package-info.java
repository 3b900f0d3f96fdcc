/** Everything here is non-null unless marked {@code @Nullable}. */
@NullMarked
package io.mmulab.sim.sched;

import org.jspecify.annotations.NullMarked;
