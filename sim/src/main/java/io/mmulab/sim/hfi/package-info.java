/**
 * A simulated Omni-Path host fabric interface (HFI), the hardware the hfi1 driver drives: the
 * {@link io.mmulab.sim.hfi.RcvArray} (TID → pinned frame) into which the {@link
 * io.mmulab.sim.hfi.PacketArrival} engine DMAs incoming eager-less ("expected") packets, the {@link
 * io.mmulab.sim.hfi.SdmaEngine} whose descriptor ring references the driver's cache nodes and
 * completes them, and {@link io.mmulab.sim.hfi.Psm}, the user-space library that programs TIDs
 * through the driver ({@link io.mmulab.sim.hfi.HfiUserContext}), polls its event bits and frees
 * invalidated TIDs after a configurable number of polls, or never.
 *
 * <p>Both halves report to the coherency checker as {@code REGISTRATION_CACHE} devices: every
 * packet and every descriptor is an operation begun when the hardware takes it, and each of its
 * accesses is judged as of then.
 */
@NullMarked
package io.mmulab.sim.hfi;

import org.jspecify.annotations.NullMarked;
