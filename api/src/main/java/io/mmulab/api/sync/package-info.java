/**
 * The concurrency runtime every lock, wait and sleep in mmulab goes through, so that the same code
 * runs on real threads ({@code RealSyncRuntime} in the core module) or under a deterministic
 * scheduler that explores and replays interleavings (the sim module).
 *
 * <p>Locks follow kernel semantics: none is recursive, and taking a lock the thread already holds
 * is reported as a self-deadlock rather than silently succeeding.
 */
@NullMarked
package io.mmulab.api.sync;

import org.jspecify.annotations.NullMarked;
