/**
 * A small registration cache in the spirit of the tutorial driver: the {@link
 * io.mmulab.api.driver.CoherencyModel#REGISTRATION_CACHE} model proven before a real driver relies
 * on it. A device operation looks its page up in a cache of pinned, DMA-mapped entries, registers
 * the page on a miss (pin it, give the entry its own interval notifier) and runs on the entry's
 * pinned frame; an invalidation takes the entry out of the cache at once and unpins it when the
 * last operation using it is done. The {@link io.mmulab.api.driver.DriverVariant#LEGACY} variant
 * pins before it inserts the entry's notifier and checks nothing in between, the race the hfi1 and
 * SCIF caches had; the {@link io.mmulab.api.driver.DriverVariant#CONSOLIDATED} one inserts the
 * notifier first, pins between {@code readBegin} and {@code readRetry}, and publishes the entry
 * only when nothing collided.
 */
@NullMarked
package io.mmulab.testkit.regcache;

import org.jspecify.annotations.NullMarked;
