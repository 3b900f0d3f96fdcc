package io.mmulab.api;

import java.util.Objects;

/**
 * A kernel error return. Kernel functions that return a negative errno are ported as Java methods
 * that throw this checked exception, so a port keeps the original control flow ({@code if (ret ==
 * -EBUSY) goto again;} becomes a catch on {@link Errno#EBUSY}).
 *
 * <p>Contract violations are never reported this way: bad values raise {@link
 * IllegalArgumentException} and misuse raises {@link LockRuleViolation}.
 */
public final class ErrnoException extends Exception {
  private static final long serialVersionUID = 1L;

  private final Errno errno;

  /**
   * Creates an error return.
   *
   * @param errno the kernel error number
   * @param message what failed and which value caused it
   */
  public ErrnoException(Errno errno, String message) {
    super(Objects.requireNonNull(errno, "errno is null") + ": " + message);
    this.errno = errno;
  }

  /**
   * Returns the error number this call failed with.
   *
   * @return the error number
   */
  public Errno errno() {
    return errno;
  }
}
