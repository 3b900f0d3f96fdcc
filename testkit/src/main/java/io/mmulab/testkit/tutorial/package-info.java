/**
 * The driver built step by step in {@code docs/writing-a-driver.md}: a minimal device mirror (a
 * shadow page table over a whole process) ported twice, as every driver of mmulab is.
 *
 * <ul>
 *   <li>{@link io.mmulab.api.driver.DriverVariant#CONSOLIDATED}: one interval subscription and the
 *       collision-retry pattern of {@code docs/notifier.md} ({@code readBegin} → {@code
 *       hmmRangeFault} → update lock → {@code readRetry} → program the device).
 *   <li>{@link io.mmulab.api.driver.DriverVariant#LEGACY}: a classic notifier and {@code
 *       getUserPages}, with the pre-5.5 "valid flag": a boolean set by every invalidation start and
 *       cleared by every end, where a count of open windows was needed. Two overlapping windows
 *       break it; the race is declared, and the conformance suite finds it.
 * </ul>
 *
 * <p>The documentation's code excerpts are checked against these sources by a test, so the two
 * cannot drift apart.
 */
@NullMarked
package io.mmulab.testkit.tutorial;

import org.jspecify.annotations.NullMarked;
