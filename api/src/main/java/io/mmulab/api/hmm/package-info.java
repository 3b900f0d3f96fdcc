/**
 * Heterogeneous memory management: {@link io.mmulab.api.hmm.HmmRange} and its entry layout, the
 * input and output of {@link io.mmulab.api.AddressSpace#hmmRangeFault}.
 */
@NullMarked
package io.mmulab.api.hmm;

import org.jspecify.annotations.NullMarked;
