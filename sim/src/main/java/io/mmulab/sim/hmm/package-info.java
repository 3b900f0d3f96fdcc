/**
 * The pre-5.5 hmm core: {@link io.mmulab.sim.hmm.HmmMirror}, the {@code hmm_mirror} with its range
 * list and {@code valid} flags that the legacy ports of dmirror and nouveau are built on, as the
 * kernel had it once in {@code mm/hmm.c} for every driver. See the "Legacy hmm" section of the
 * module README.
 */
@NullMarked
package io.mmulab.sim.hmm;

import org.jspecify.annotations.NullMarked;
