/**
 * The Xen grant device ({@code drivers/xen/gntdev.c}) on the simulated hypervisor, in three
 * variants: {@link io.mmulab.driver.gntdev.GntdevLegacy} (one classic notifier per open file for
 * the opener's address space, the lists {@code maps} and {@code freeable_maps} under one mutex),
 * {@link io.mmulab.driver.gntdev.GntdevAsMerged} (v5.5: one interval notifier per grant map,
 * synchronous unmap) and {@link io.mmulab.driver.gntdev.GntdevConsolidated} (with the 2022
 * asynchronous unmap). See {@code MIGRATION.md}.
 */
@NullMarked
package io.mmulab.driver.gntdev;

import org.jspecify.annotations.NullMarked;
