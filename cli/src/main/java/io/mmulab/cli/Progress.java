package io.mmulab.cli;

import java.io.PrintWriter;
import java.util.function.LongSupplier;

/**
 * The progress line on stderr: rewritten in place ({@code \r}) at most a few times a second while a
 * job runs, ended with a newline when it is done. Safe to call from several worker threads.
 */
final class Progress {
  private static final long MIN_INTERVAL_NANOS = 200_000_000L;

  private final PrintWriter err;
  private final long total;
  private final LongSupplier clock;
  private final long started;
  private long lastPrinted;
  private int lastWidth;

  /**
   * Creates a progress line.
   *
   * @param err where to print it
   * @param total how many units the job has
   * @param clock a nanosecond clock ({@link System#nanoTime})
   */
  Progress(PrintWriter err, long total, LongSupplier clock) {
    this.err = err;
    this.total = total;
    this.clock = clock;
    this.started = clock.getAsLong();
    this.lastPrinted = started - MIN_INTERVAL_NANOS;
  }

  /**
   * Reports that {@code done} units are finished, {@code what} running now; prints if the last
   * print is old enough.
   *
   * @param done units finished
   * @param what what runs now
   */
  synchronized void update(long done, String what) {
    long now = clock.getAsLong();
    if (now - lastPrinted < MIN_INTERVAL_NANOS && done < total) {
      return;
    }
    lastPrinted = now;
    long pct = total == 0 ? 100 : done * 100 / total;
    String line =
        String.format("[%3d%%] %d/%d runs, %ds  %s", pct, done, total, elapsedSeconds(now), what);
    err.print("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
    err.flush();
    lastWidth = line.length();
  }

  /**
   * Ends the line.
   *
   * @param summary the last words, such as {@code "done"}
   */
  synchronized void finish(String summary) {
    String line =
        String.format("%d runs in %ds: %s", total, elapsedSeconds(clock.getAsLong()), summary);
    err.println("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
    err.flush();
  }

  private long elapsedSeconds(long now) {
    return (now - started) / 1_000_000_000L;
  }
}
