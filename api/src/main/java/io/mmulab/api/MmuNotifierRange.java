package io.mmulab.api;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One invalidation as the subscribers see it (kernel {@code struct mmu_notifier_range}): the
 * address space, the virtual range {@code [start, end)} with an exclusive end, the reason, whether
 * the subscriber may sleep, and for {@link MmuNotifierEvent#MIGRATE} and {@link
 * MmuNotifierEvent#EXCLUSIVE} the owner that caused it.
 *
 * <p>Addresses are unsigned 64-bit values. Because the end is exclusive, a range can never include
 * the last byte {@code 2^64-1}; the release range is {@code [0, 2^64-1)} as in the kernel.
 *
 * @param mm the address space being invalidated
 * @param start first address, inclusive (unsigned)
 * @param end address after the last one, exclusive (unsigned, greater than {@code start})
 * @param event why the range is invalidated
 * @param blockable whether subscribers may sleep; false only for the OOM reaper's non-blocking path
 * @param owner who caused a MIGRATE or EXCLUSIVE event (may be null); always null for other events
 */
public record MmuNotifierRange(
    AddressSpace mm,
    long start,
    long end,
    MmuNotifierEvent event,
    boolean blockable,
    @Nullable Object owner) {

  /** The exclusive end of the release range, kernel {@code ULONG_MAX}. */
  public static final long ULONG_MAX = -1L;

  /**
   * Validates the fields.
   *
   * @throws IllegalArgumentException if {@code start >= end} (unsigned) or an owner is given for an
   *     event that carries none
   * @throws NullPointerException if {@code mm} or {@code event} is null
   */
  public MmuNotifierRange {
    Objects.requireNonNull(mm, "mm is null");
    Objects.requireNonNull(event, "event is null");
    if (Long.compareUnsigned(start, end) >= 0) {
      throw new IllegalArgumentException(
          "range start 0x"
              + Long.toHexString(start)
              + " is not below its exclusive end 0x"
              + Long.toHexString(end));
    }
    if (owner != null && !event.carriesOwner()) {
      throw new IllegalArgumentException(
          "owner " + owner + " given for event " + event + ", which carries no owner");
    }
  }

  /**
   * A blockable range without owner, the common case.
   *
   * @param mm the address space
   * @param event why
   * @param start first address, inclusive
   * @param end exclusive end
   * @return the range
   */
  public static MmuNotifierRange of(AddressSpace mm, MmuNotifierEvent event, long start, long end) {
    return new MmuNotifierRange(mm, start, end, event, true, null);
  }

  /**
   * The range sent once at process exit: {@code [0, ULONG_MAX)}, event RELEASE, blockable.
   *
   * @param mm the exiting address space
   * @return the release range
   */
  public static MmuNotifierRange release(AddressSpace mm) {
    return new MmuNotifierRange(mm, 0, ULONG_MAX, MmuNotifierEvent.RELEASE, true, null);
  }

  /**
   * Returns this range with the blockable flag replaced, as the core does on its blocking and
   * non-blocking entry points.
   *
   * @param newBlockable the flag to set
   * @return this range if the flag is already {@code newBlockable}, otherwise a copy
   */
  public MmuNotifierRange withBlockable(boolean newBlockable) {
    return newBlockable == blockable
        ? this
        : new MmuNotifierRange(mm, start, end, event, newBlockable, owner);
  }

  /**
   * The inclusive last address, {@code end - 1}: what the interval tree is queried with.
   *
   * @return the last address of the range
   */
  public long last() {
    return end - 1;
  }

  /**
   * Tells whether this range intersects the inclusive interval {@code [first, last]} (unsigned).
   *
   * @param first first address of the interval
   * @param lastAddress last address of the interval, inclusive
   * @return true if at least one address is in both
   */
  public boolean intersects(long first, long lastAddress) {
    return Long.compareUnsigned(first, last()) <= 0
        && Long.compareUnsigned(start, lastAddress) <= 0;
  }

  /**
   * Tells whether {@code other} describes the same invalidation window, ignoring the blockable flag
   * (which the core overwrites): used to pair an end with its start.
   *
   * @param other another range
   * @return true if address space, bounds, event and owner are equal
   */
  public boolean sameWindow(MmuNotifierRange other) {
    return mm == other.mm
        && start == other.start
        && end == other.end
        && event == other.event
        && Objects.equals(owner, other.owner);
  }

  @Override
  public String toString() {
    return event
        + "[0x"
        + Long.toHexString(start)
        + ", 0x"
        + Long.toHexString(end)
        + ")"
        + (blockable ? "" : " nonblock")
        + (owner == null ? "" : " owner=" + owner);
  }
}
