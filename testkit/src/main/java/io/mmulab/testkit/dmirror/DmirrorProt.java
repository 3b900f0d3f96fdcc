package io.mmulab.testkit.dmirror;

/**
 * The permission byte SNAPSHOT reports per page (kernel {@code HMM_DMIRROR_PROT_*}), the mirror
 * flags and the memory types: interface values of {@code test_hmm_uapi.h}.
 */
public final class DmirrorProt {
  private DmirrorProt() {}

  /** No VMA, or a VMA the device may not read. */
  public static final int ERROR = 0xFF;

  /** Not valid: nothing mapped yet, swapped, or a page of another device's private memory. */
  public static final int NONE = 0x00;

  /** Valid and read-only for the CPU. */
  public static final int READ = 0x01;

  /** Valid and writable for the CPU. */
  public static final int WRITE = 0x02;

  /** Added when the CPU maps the page at PMD level (2 MiB). */
  public static final int PMD = 0x04;

  /** Added when the CPU maps the page at PUD level (1 GiB; never in the simulation). */
  public static final int PUD = 0x08;

  /** The shared zero page. */
  public static final int ZERO = 0x10;

  /** A page in this device's private memory. */
  public static final int DEV_PRIVATE_LOCAL = 0x20;

  /** A page in another device's private memory (never reported: such pages are not valid). */
  public static final int DEV_PRIVATE_REMOTE = 0x30;

  /** A page in this device's coherent memory. */
  public static final int DEV_COHERENT_LOCAL = 0x40;

  /** A page in another device's coherent memory. */
  public static final int DEV_COHERENT_REMOTE = 0x50;

  /** Mirror flag: the next device-memory allocation of a migration fails, once. */
  public static final long FLAG_FAIL_ALLOC = 1L;

  /** Memory type of devices 0 and 1. */
  public static final int MEMORY_DEVICE_PRIVATE = 1;

  /** Memory type of devices 2 and 3. */
  public static final int MEMORY_DEVICE_COHERENT = 2;
}
