/** Everything here is non-null unless marked {@code @Nullable}. */
@NullMarked
package io.mmulab.driver.i915;

import org.jspecify.annotations.NullMarked;
