package io.mmulab.api.sync;

/**
 * A sleeping exclusive lock (kernel {@code struct mutex}). Must not be taken while holding a {@link
 * SpinLock} or inside a callback for a non-blockable range.
 */
public interface Mutex extends ExclusiveLock {}
