/** Everything here is non-null unless marked {@code @Nullable}. */
@NullMarked
package io.mmulab.testkit.lincheck;

import org.jspecify.annotations.NullMarked;
