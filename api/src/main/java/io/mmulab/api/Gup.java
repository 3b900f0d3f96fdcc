package io.mmulab.api;

/**
 * Flags of {@link AddressSpace#getUserPages} (kernel {@code FOLL_*}).
 *
 * <p>Without {@link #FOLL_PIN} each page returned holds one reference, dropped by the caller with a
 * put; with it, one pin, dropped with an unpin.
 */
public final class Gup {
  /** Fault pages in writable (breaking copy-on-write). */
  public static final int FOLL_WRITE = 1;

  /** Take pins (for DMA) instead of plain references. */
  public static final int FOLL_PIN = 2;

  /** The pins last indefinitely (registration caches); needs {@link #FOLL_PIN}. */
  public static final int FOLL_LONGTERM = 4;

  /** Every valid flag. */
  public static final int ALL = FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM;

  private Gup() {}
}
