/** Everything here is non-null unless marked {@code @Nullable}. */
@NullMarked
package io.mmulab.api;

import org.jspecify.annotations.NullMarked;
