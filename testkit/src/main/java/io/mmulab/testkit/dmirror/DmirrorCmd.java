package io.mmulab.testkit.dmirror;

import io.mmulab.api.AddressSpace;

/**
 * The command block of every dmirror command (kernel {@code struct hmm_dmirror_cmd}, five 64-bit
 * fields): {@code addr}, {@code ptr}, {@code npages} in, {@code cpages} and {@code faults} out.
 *
 * <p>{@code ptr} stands for the user buffer: a byte array the device copies data to or from ({@code
 * npages * PAGE_SIZE} bytes for READ, WRITE, MIGRATE_TO_DEV and EXCLUSIVE; {@code npages} bytes for
 * SNAPSHOT). Words are stored little-endian, 8 bytes each ({@link #word}, {@link #setWord}). A
 * missing or short buffer is a bad user pointer: the command fails with {@code EFAULT} where the
 * kernel's {@code copy_to_user}/{@code copy_from_user} would.
 *
 * <p>Like the kernel, a command copies the block back only on success: after a failure {@code
 * cpages} and {@code faults} keep the values they had before the call. Not thread-safe.
 */
public final class DmirrorCmd {
  private static final int PAGE = (int) AddressSpace.PAGE_SIZE;

  private long addr;
  private long npages;
  private byte[] ptr;
  private long cpages;
  private long faults;

  /**
   * Creates a block.
   *
   * @param addr the user address the device touches (must be page-aligned for the command to run)
   * @param npages the number of pages (for FLAGS: the flags)
   * @param ptr the user buffer, or null
   */
  public DmirrorCmd(long addr, long npages, byte[] ptr) {
    this.addr = addr;
    this.npages = npages;
    this.ptr = ptr;
  }

  /**
   * Creates a block with a data buffer of {@code npages} pages.
   *
   * @param addr the user address
   * @param npages the number of pages, at most {@code Integer.MAX_VALUE / PAGE_SIZE}
   * @return the block
   */
  public static DmirrorCmd withPages(long addr, int npages) {
    return new DmirrorCmd(addr, npages, new byte[Math.multiplyExact(npages, PAGE)]);
  }

  /**
   * Creates a block with a buffer of {@code npages} bytes, as SNAPSHOT needs.
   *
   * @param addr the user address
   * @param npages the number of pages
   * @return the block
   */
  public static DmirrorCmd withPermBytes(long addr, int npages) {
    return new DmirrorCmd(addr, npages, new byte[npages]);
  }

  /**
   * Returns the user address.
   *
   * @return {@code addr}
   */
  public long addr() {
    return addr;
  }

  /**
   * Sets the user address.
   *
   * @param newAddr the address
   * @return this block
   */
  public DmirrorCmd addr(long newAddr) {
    this.addr = newAddr;
    return this;
  }

  /**
   * Returns the page count (or the flags, for FLAGS).
   *
   * @return {@code npages}
   */
  public long npages() {
    return npages;
  }

  /**
   * Sets the page count.
   *
   * @param newNpages the count
   * @return this block
   */
  public DmirrorCmd npages(long newNpages) {
    this.npages = newNpages;
    return this;
  }

  /**
   * Returns the user buffer (not a copy).
   *
   * @return {@code ptr}, possibly null
   */
  public byte[] ptr() {
    return ptr;
  }

  /**
   * Sets the user buffer.
   *
   * @param newPtr the buffer, or null
   * @return this block
   */
  public DmirrorCmd ptr(byte[] newPtr) {
    this.ptr = newPtr;
    return this;
  }

  /**
   * Returns the pages handled by the last successful command (its meaning depends on the command).
   *
   * @return {@code cpages}
   */
  public long cpages() {
    return cpages;
  }

  /**
   * Returns the device fault rounds of the last successful READ or WRITE.
   *
   * @return {@code faults}
   */
  public long faults() {
    return faults;
  }

  /**
   * Reads word {@code i} of the buffer.
   *
   * @param i word index
   * @return the little-endian word at bytes {@code [8i, 8i + 8)}
   */
  public long word(int i) {
    return getWord(ptr, i);
  }

  /**
   * Writes word {@code i} of the buffer.
   *
   * @param i word index
   * @param value the word
   * @return this block
   */
  public DmirrorCmd setWord(int i, long value) {
    putWord(ptr, i, value);
    return this;
  }

  /**
   * Returns the permission byte of page {@code i} (SNAPSHOT).
   *
   * @param i page index
   * @return the byte as an unsigned value
   */
  public int perm(int i) {
    return ptr[i] & 0xFF;
  }

  void setCounters(long newCpages, long newFaults) {
    this.cpages = newCpages;
    this.faults = newFaults;
  }

  static long getWord(byte[] b, int i) {
    long v = 0;
    for (int k = 7; k >= 0; k--) {
      v = (v << 8) | (b[8 * i + k] & 0xFFL);
    }
    return v;
  }

  static void putWord(byte[] b, int i, long value) {
    for (int k = 0; k < 8; k++) {
      b[8 * i + k] = (byte) (value >>> (8 * k));
    }
  }

  @Override
  public String toString() {
    return "DmirrorCmd[addr=0x"
        + Long.toHexString(addr)
        + ", npages="
        + npages
        + ", cpages="
        + cpages
        + ", faults="
        + faults
        + "]";
  }
}
