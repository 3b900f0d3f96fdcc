/**
 * The vhost metadata acceleration ({@code drivers/vhost/vhost.c}, 5.3-rc1, reverted before 5.3) on
 * the simulated machine: the worker reaches a virtqueue's rings in the VMM's memory through direct
 * maps published by a prefetch, or copies through the page table. {@link
 * io.mmulab.driver.vhost.VhostLegacy} is the merged design with its fixes (one classic notifier per
 * device); {@link io.mmulab.driver.vhost.VhostConsolidated} is our interval-notifier design, since
 * the kernel never converted it. See {@code MIGRATION.md}.
 */
@NullMarked
package io.mmulab.driver.vhost;

import org.jspecify.annotations.NullMarked;
