package io.mmulab.sim.mem;

import org.jspecify.annotations.Nullable;

/**
 * A snapshot of one frame's bookkeeping, taken under the frame's lock.
 *
 * @param pfn the frame
 * @param state allocated or freed
 * @param generation how many times the pfn was allocated
 * @param refcount references, pins included (0 when freed; 1 for the zero page)
 * @param pincount pins
 * @param owner who allocated the current (or last) generation
 */
public record FrameInfo(
    long pfn,
    FrameState state,
    long generation,
    int refcount,
    int pincount,
    @Nullable String owner) {}
