/**
 * The tutorial's {@code FENCE_WAIT} example ({@code docs/writing-a-driver.md}, "A device that waits
 * for fences"): a device that runs asynchronous jobs, as the radeon and i915 userptr paths do, and
 * whose invalidate callback waits for the fences of the jobs that use the range before it returns.
 * One variant, {@link io.mmulab.api.driver.DriverVariant#CONSOLIDATED}; registered only by the
 * testkit's tests, as the tutorial driver is.
 */
@NullMarked
package io.mmulab.testkit.tutorial.fence;

import org.jspecify.annotations.NullMarked;
