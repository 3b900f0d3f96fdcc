package io.mmulab.api;

/**
 * Why an invalidation happens (kernel {@code enum mmu_notifier_event}); the ordinals are the
 * kernel's. A subscriber may use the event to skip work, for example its own migrations.
 */
public enum MmuNotifierEvent {
  /** munmap or mremap removed or moved the range: the virtual addresses are gone. */
  UNMAP,
  /**
   * Page-table entries cleared for another reason: madvise, reclaim, copy-on-write, replacement.
   */
  CLEAR,
  /** Protection of the whole range changes according to the VMA permissions (mprotect). */
  PROTECTION_VMA,
  /** Per-page read/write change; the subscriber must inspect the CPU page table. */
  PROTECTION_PAGE,
  /** Soft-dirty tracking: same page, same access. */
  SOFT_DIRTY,
  /** The address space lost its last user (process exit); sent once over the whole space. */
  RELEASE,
  /** Page migration; {@link MmuNotifierRange#owner()} names who migrates. */
  MIGRATE,
  /** Conversion to a device-exclusive entry; {@link MmuNotifierRange#owner()} names the device. */
  EXCLUSIVE;

  /**
   * Tells whether ranges with this event carry an owner ({@link #MIGRATE} and {@link #EXCLUSIVE}).
   *
   * @return true if a range of this event may have a non-null owner
   */
  public boolean carriesOwner() {
    return this == MIGRATE || this == EXCLUSIVE;
  }
}
