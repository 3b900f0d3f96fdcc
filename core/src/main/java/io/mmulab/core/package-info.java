/** Everything here is non-null unless marked {@code @Nullable}. */
@NullMarked
package io.mmulab.core;

import org.jspecify.annotations.NullMarked;
