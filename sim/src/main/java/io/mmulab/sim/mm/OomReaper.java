package io.mmulab.sim.mm;

import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.RwSemaphore;
import java.util.List;
import java.util.Objects;

/**
 * The OOM reaper (kernel {@code oom_reap_task} / {@code __oom_reap_task_mm}): tears down the
 * private memory of a victim without waiting for anything. One attempt try-locks the mmap lock for
 * read (failing the attempt if it is taken), then for every private VMA (anonymous or file; not
 * shared, not a raw pfn mapping) opens a <em>non-blockable</em> UNMAP invalidation of the whole
 * VMA: if a subscriber answers {@code EAGAIN} the VMA is skipped (no change, no end) and the
 * attempt counts as incomplete; otherwise its entries are zapped, the window ends and the frames
 * are dropped. Incomplete attempts are retried after a sleep on the runtime's clock, a bounded
 * number of times. VMAs stay in place; only their pages go.
 */
public final class OomReaper {
  /** Attempts of the kernel ({@code MAX_OOM_REAP_RETRIES}). */
  public static final int DEFAULT_MAX_ATTEMPTS = 10;

  /** The kernel's pause between attempts ({@code HZ/10}). */
  public static final long DEFAULT_RETRY_DELAY_NANOS = 100_000_000L;

  private final int maxAttempts;
  private final long retryDelayNanos;

  /** A reaper with the kernel's retry policy. */
  public OomReaper() {
    this(DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAY_NANOS);
  }

  /**
   * A reaper with its own retry policy.
   *
   * @param maxAttempts attempts before giving up, at least 1
   * @param retryDelayNanos sleep between attempts, not negative
   */
  public OomReaper(int maxAttempts, long retryDelayNanos) {
    if (maxAttempts < 1 || retryDelayNanos < 0) {
      throw new IllegalArgumentException(
          "bad retry policy: " + maxAttempts + " attempts, " + retryDelayNanos + " ns");
    }
    this.maxAttempts = maxAttempts;
    this.retryDelayNanos = retryDelayNanos;
  }

  /**
   * Reaps a victim's address space.
   *
   * @param victim the process (usually one being killed)
   * @return how many attempts it took, or 0 if it gave up with private memory left
   */
  public int reap(SimProcess victim) {
    SimMm s = Objects.requireNonNull(victim, "victim is null").sim();
    return s.machine
        .callbackFailures()
        .collect(
            () -> {
              for (int attempt = 1; attempt <= maxAttempts; attempt++) {
                if (reapOnce(s)) {
                  return attempt;
                }
                if (attempt < maxAttempts) {
                  s.rt.clock().sleep(retryDelayNanos);
                }
              }
              return 0;
            });
  }

  /** One pass; true if every private VMA was reaped. */
  boolean reapOnce(SimMm s) {
    if (s.isTornDown()) {
      return true;
    }
    RwSemaphore lock = s.mm.mmapLock();
    if (!lock.downReadTrylock()) {
      return false;
    }
    try {
      boolean complete = true;
      for (Vma v : List.copyOf(s.vmas.values())) {
        if (v.isPfnMap() || v.isShared() || v.isHugetlb()) {
          continue;
        }
        boolean reaped =
            s.invalidateNonblock(
                new MmuNotifierRange(s.mm, v.start(), v.end(), MmuNotifierEvent.UNMAP, false, null),
                "oom reap",
                d -> s.zap(v, v.start(), v.end(), d));
        complete &= reaped;
      }
      return complete;
    } finally {
      lock.upRead();
    }
  }
}
