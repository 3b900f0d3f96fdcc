/**
 * The SCIF driver (Intel MIC, {@code drivers/misc/mic/scif}, removed in Linux 5.10) on the
 * simulated SCIF card ({@code io.mmulab.sim.scif}): the cache of temporary registered windows that
 * {@code scif_vreadfrom}/{@code scif_vwriteto} keep per endpoint and address space, ported legacy
 * ({@link io.mmulab.driver.scif.ScifLegacyCache}: a classic notifier and a VA-sorted list, with the
 * pin-then-insert race) and consolidated ({@link io.mmulab.driver.scif.ScifConsolidatedCache}: one
 * interval notifier per window; our design, the kernel never converted SCIF). See {@code
 * MIGRATION.md} in the module.
 */
@NullMarked
package io.mmulab.driver.scif;

import org.jspecify.annotations.NullMarked;
