/** Everything here is non-null unless marked {@code @Nullable}. */
@NullMarked
package io.mmulab.cli;

import org.jspecify.annotations.NullMarked;
