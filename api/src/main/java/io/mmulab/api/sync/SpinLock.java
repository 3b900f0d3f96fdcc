package io.mmulab.api.sync;

/**
 * A non-sleeping exclusive lock (kernel {@code spinlock_t}). May be taken anywhere, including
 * callbacks for non-blockable ranges; nothing may sleep while it is held.
 */
public interface SpinLock extends ExclusiveLock {}
