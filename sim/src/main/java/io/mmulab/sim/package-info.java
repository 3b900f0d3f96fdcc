/** Everything here is non-null unless marked {@code @Nullable}. */
@NullMarked
package io.mmulab.sim;

import org.jspecify.annotations.NullMarked;
