/** Everything here is non-null unless marked {@code @Nullable}. */
@NullMarked
package io.mmulab.testkit;

import org.jspecify.annotations.NullMarked;
