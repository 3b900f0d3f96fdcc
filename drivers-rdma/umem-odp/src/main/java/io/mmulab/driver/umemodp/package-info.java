/**
 * RDMA on-demand paging (kernel {@code drivers/infiniband/core/umem_odp.c} with the mlx5 parts of
 * {@code drivers/infiniband/hw/mlx5/odp.c}) on the simulated NIC of {@code io.mmulab.sim.nic}: the
 * v5.4 legacy port ({@link io.mmulab.driver.umemodp.UmemOdpLegacyUmem}, {@link
 * io.mmulab.driver.umemodp.UmemOdpPerMm}) and the 5.5 consolidated one ({@link
 * io.mmulab.driver.umemodp.UmemOdpConsolidatedUmem}). See {@code MIGRATION.md} in the module.
 */
@NullMarked
package io.mmulab.driver.umemodp;

import org.jspecify.annotations.NullMarked;
