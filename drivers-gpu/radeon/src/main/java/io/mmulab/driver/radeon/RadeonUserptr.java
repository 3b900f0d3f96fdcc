package io.mmulab.driver.radeon;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The protocol core of a radeon variant ({@code radeon_mn.c} plus the userptr part of the CS path):
 * how a BO is registered with the notifier ({@link #register}/{@link #unregister}), how the CS
 * validates it ({@link #validateAndSubmit}) and the invalidate callback, which each variant defines
 * next to its validation so the two can be read side by side. It holds no hardware: pins, the GART
 * and the fences are behind a {@link RadeonGart} ({@link RadeonSimGart} in production, one page in
 * the Lincheck test), the address space is any {@link AddressSpace}.
 *
 * <p>Locks: the variant's notifier lock → a BO's {@code reserve}. The CS never holds {@code
 * reserve} across GUP, so GUP (mmap lock read) is never nested inside a lock the callback takes.
 */
abstract class RadeonUserptr {
  final DriverVariant variant;
  final SyncRuntime rt;
  final AddressSpace mm;
  final String id;
  final RadeonGart gart;

  /**
   * What this variant counted: a fault per CS validation that bound the BO into the GART, a retry
   * per {@code read_retry} that sent the CS round again, an invalidation per notifier callback, a
   * pin per page GUP pinned and an unpin per page let go.
   */
  final DriverStats stats = new DriverStats();

  RadeonUserptr(
      DriverVariant variant, SyncRuntime rt, AddressSpace mm, String id, RadeonGart gart) {
    this.variant = Objects.requireNonNull(variant, "variant is null");
    this.rt = Objects.requireNonNull(rt, "rt is null");
    this.mm = Objects.requireNonNull(mm, "mm is null");
    this.id = Objects.requireNonNull(id, "id is null");
    this.gart = Objects.requireNonNull(gart, "gart is null");
  }

  /** Registers a new BO with the notifier ({@code radeon_mn_register}). */
  abstract void register(RadeonBo bo) throws ErrnoException;

  /**
   * Unregisters a BO ({@code radeon_mn_unregister}); once it returns no callback touches the BO.
   */
  abstract void unregister(RadeonBo bo);

  /** Drops the per-address-space notifier, if the variant has one (legacy). */
  void unsubscribe() {}

  /**
   * The CS path for one BO ({@code radeon_cs_parser_relocs} → {@code radeon_bo_list_validate} →
   * {@code radeon_ttm_tt_pin_userptr}, then the ring emit): make the BO resident in the GART, then
   * submit the job with the BO in its reservation list.
   *
   * @param submitLocked queues the job (its fence enters the BO's resv) and returns its fence; run
   *     under {@code bo.reserve} once the BO is bound for this use. Null to only validate
   *     (prefetch)
   * @return what {@code submitLocked} returned, or null for a prefetch
   */
  abstract <F> @Nullable F validateAndSubmit(
      RadeonBo bo, boolean write, @Nullable Supplier<F> submitLocked) throws ErrnoException;

  // ---- helpers of the CS path and the callbacks -------------------------------------------

  /** Whether the BO is bound for this use; caller holds {@code bo.reserve}. */
  static boolean boundFor(RadeonBo bo, boolean write) {
    return bo.bound() && (bo.writable || !write);
  }

  /** Runs the CS's submission; caller holds {@code bo.reserve}. */
  static <F> @Nullable F submit(@Nullable Supplier<F> submitLocked) {
    return submitLocked == null ? null : submitLocked.get();
  }

  /** Takes the pinned pages over and binds them into the GART; caller holds {@code bo.reserve}. */
  final void bindLocked(RadeonBo bo, long[] pfns, boolean write) {
    gart.bind(bo, pfns, write);
    bo.writable = write;
    stats.fault();
  }

  /** GUP of the BO's pages with a pin ({@code radeon_ttm_tt_pin_userptr}); under no lock. */
  final long[] pin(RadeonBo bo, boolean write) throws ErrnoException {
    long[] pfns = gart.pinUserPages(bo, write);
    stats.pinned(pfns.length);
    return pfns;
  }

  /** Drops the pins of a GUP whose pages were not bound. */
  final void unpin(long[] pfns) {
    gart.unpin(pfns, pfns.length);
    stats.unpinned(pfns.length);
  }

  /**
   * Moves the BO to the CPU domain: wait for every fence of the BO (no timeout, as the kernel's
   * {@code MAX_SCHEDULE_TIMEOUT}), unbind from the GART (PTEs cleared, TLB flushed), unpin the
   * pages. Caller holds {@code bo.reserve}.
   */
  final void evictLocked(RadeonBo bo) {
    gart.waitIdle(bo);
    stats.unpinned(gart.unbind(bo));
    bo.writable = false;
  }

  /** Reports a callback's start for the part of {@code [start, end)} the BO covers. */
  static long clipStart(RadeonBo bo, long start) {
    return Long.compareUnsigned(start, bo.start()) > 0 ? start : bo.start();
  }

  static long clipEnd(RadeonBo bo, long end) {
    return Long.compareUnsigned(end, bo.end()) < 0 ? end : bo.end();
  }
}
