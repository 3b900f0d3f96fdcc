/**
 * {@code dmirror}, the kernel's HMM test driver ({@code lib/test_hmm.c}) as mmulab's reference
 * driver, described in {@code docs/dmirror.md}.
 *
 * <ul>
 *   <li>{@link io.mmulab.testkit.dmirror.DmirrorDevices}: the module loaded on one machine, with
 *       its device-private devices ({@code /dev/hmm_dmirror0} and {@code 1}).
 *   <li>{@link io.mmulab.testkit.dmirror.Dmirror}: one device, its device-private memory pool and
 *       the CPU fault path that migrates its pages back ({@code migrate_to_ram}).
 *   <li>{@link io.mmulab.testkit.dmirror.DmirrorMirror}: one open file, bound to a process's
 *       address space: a device page table, one update lock, one interval notifier, and the
 *       commands of {@link io.mmulab.testkit.dmirror.DmirrorCommand} run on a {@link
 *       io.mmulab.testkit.dmirror.DmirrorCmd} block.
 *   <li>{@link io.mmulab.testkit.dmirror.DmirrorFactory}, {@link
 *       io.mmulab.testkit.dmirror.DmirrorAdapter}, {@link io.mmulab.testkit.dmirror.DmirrorPlugin}:
 *       the driver SPI, in the variants {@code CONSOLIDATED} (the collision-retry pattern) and
 *       {@code LEGACY} (the pre-5.5 {@code hmm_mirror} valid-flag pattern, with its race kept).
 * </ul>
 *
 * <p>Lock order: the mmap lock, then a mirror's {@code mutex} (the update lock), then a device's
 * pool spin lock, then physical memory's frame locks. A device's {@code evict} mutex is taken
 * before any mmap lock and never inside a callback.
 *
 * <p>Everything here is non-null unless marked {@code @Nullable}.
 */
@NullMarked
package io.mmulab.testkit.dmirror;

import org.jspecify.annotations.NullMarked;
