/** Everything here is non-null unless marked {@code @Nullable}. */
@NullMarked
package io.mmulab.bench;

import org.jspecify.annotations.NullMarked;
