/**
 * The coherency checker: a passive observer of CPU page-table changes, frame lifetimes, invalidate
 * callbacks and device accesses that reports stale use, permission, lifetime, use-after-free and
 * isolation violations with the trace that led to them.
 */
package io.mmulab.sim.check;
