/**
 * The radeon userptr driver ({@code drivers/gpu/drm/radeon/radeon_mn.c}) on the simulated GPU, in
 * three variants: {@link io.mmulab.driver.radeon.RadeonLegacy} (v5.4: one notifier per address
 * space, a tree of merged nodes with BO lists under one mutex), {@link
 * io.mmulab.driver.radeon.RadeonAsMerged} (v5.5 as merged: one interval notifier per BO, no
 * sequence check, the FIXME race kept) and {@link io.mmulab.driver.radeon.RadeonConsolidated} (the
 * collision-retry pattern the FIXME asks for). See {@code MIGRATION.md}.
 */
@NullMarked
package io.mmulab.driver.radeon;

import org.jspecify.annotations.NullMarked;
