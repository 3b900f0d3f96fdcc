/**
 * The coherency checker: a passive observer of CPU page-table changes, frame lifetimes, invalidate
 * callbacks and device accesses that reports stale use, permission, lifetime, use-after-free and
 * isolation violations with the trace that led to them. {@link
 * io.mmulab.sim.check.CoherencyChecker} records each event and hands it to one package-private
 * class per rule family.
 */
@NullMarked
package io.mmulab.sim.check;

import org.jspecify.annotations.NullMarked;
