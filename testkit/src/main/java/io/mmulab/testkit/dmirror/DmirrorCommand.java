package io.mmulab.testkit.dmirror;

import java.util.Optional;

/**
 * The commands of the device file (kernel {@code HMM_DMIRROR_*} ioctls, {@code _IOWR('H', nr,
 * struct hmm_dmirror_cmd)}), with their command numbers.
 */
public enum DmirrorCommand {
  /** Copy pages from process memory through the device page table, faulting as needed. */
  READ(0x00),
  /** Copy pages into process memory through writable device entries, faulting as needed. */
  WRITE(0x01),
  /** Migrate the range into this device's memory, then read it back from the device table. */
  MIGRATE_TO_DEV(0x02),
  /** Migrate the pages of the range that live in this device's memory back to system memory. */
  MIGRATE_TO_SYS(0x03),
  /** Report one permission byte per page of the CPU page table, without faulting. */
  SNAPSHOT(0x04),
  /** Make every page exclusive to the device, then read the range back. */
  EXCLUSIVE(0x05),
  /** Fail with {@code EPERM} if any device entry of the range still has the atomic tag. */
  CHECK_EXCLUSIVE(0x06),
  /** Evict every memory chunk of the device back to system memory; ignores the range. */
  RELEASE(0x07),
  /** Set the mirror's flags word to the command block's {@code npages}. */
  FLAGS(0x08);

  private final int nr;

  DmirrorCommand(int nr) {
    this.nr = nr;
  }

  /**
   * Returns the ioctl command number.
   *
   * @return {@code nr} of {@code _IOWR('H', nr, …)}
   */
  public int nr() {
    return nr;
  }

  /**
   * Finds a command by number.
   *
   * @param nr a command number
   * @return the command, or empty for an unknown number (the device answers {@code EINVAL})
   */
  public static Optional<DmirrorCommand> of(long nr) {
    for (DmirrorCommand c : values()) {
      if (c.nr == nr) {
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }
}
