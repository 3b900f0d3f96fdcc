package io.mmulab.api;

/**
 * The kernel error numbers that mmulab's kernel-facing calls can report, with the Linux numeric
 * values so that messages and traces read like the original code.
 *
 * <p>Errors are reported by throwing {@link ErrnoException}; a kernel function that "returns {@code
 * -EBUSY}" becomes a Java method that throws {@code ErrnoException} carrying {@link #EBUSY}.
 */
public enum Errno {
  /** Operation not permitted: a write fault was needed on a mapping without write permission. */
  EPERM(1),
  /** No such entry. */
  ENOENT(2),
  /** Interrupted by a signal. */
  EINTR(4),
  /** Try again: a non-blocking invalidation could not complete without sleeping. */
  EAGAIN(11),
  /** Out of memory: the simulated frame budget is exhausted. */
  ENOMEM(12),
  /** Bad address: no mapping, or a mapping the device may not reach. */
  EFAULT(14),
  /** Resource busy: an invalidation collided with a speculative page-table walk. */
  EBUSY(16),
  /** Invalid argument, or an address space that has no users any more. */
  EINVAL(22),
  /** A range whose length is zero or whose end does not fit in 64 bits. */
  EOVERFLOW(75);

  private final int number;

  Errno(int number) {
    this.number = number;
  }

  /**
   * Returns the positive Linux error number (the kernel returns its negation).
   *
   * @return the error number, for example 16 for {@link #EBUSY}
   */
  public int number() {
    return number;
  }
}
