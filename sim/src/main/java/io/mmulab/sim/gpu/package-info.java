/**
 * The simulated GPU shared by the i915, radeon and nouveau ports: {@link io.mmulab.sim.gpu.SimGpu}
 * (a command streamer producing {@link io.mmulab.sim.dev.DmaFence}s), {@link
 * io.mmulab.sim.gpu.GpuVm} (a GPU virtual address space over a {@link io.mmulab.sim.dev.DeviceMmu},
 * GPU VA == user VA), {@link io.mmulab.sim.gpu.GpuBo} (userptr buffer objects), {@link
 * io.mmulab.sim.gpu.DmaResv} (reservation objects) and {@link io.mmulab.sim.gpu.GpuJob}. See the
 * "GPU" section of the module README.
 */
@NullMarked
package io.mmulab.sim.gpu;

import org.jspecify.annotations.NullMarked;
