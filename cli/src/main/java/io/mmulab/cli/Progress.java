package io.mmulab.cli;

import java.io.PrintWriter;
import java.util.function.LongSupplier;

/**
 * The progress line on stderr. On a terminal it is rewritten in place ({@code \r}) at most a few
 * times a second while a job runs, and ended with a newline when it is done. Elsewhere (a log file,
 * a pipe, a batch job) each report is a whole line of its own, printed when the job crosses a new
 * tenth or when {@value #PLAIN_INTERVAL_SECONDS} s have passed since the last one, never with a
 * {@code \r}. Safe to call from several worker threads.
 */
final class Progress {
  private static final long MIN_INTERVAL_NANOS = 200_000_000L;
  private static final int PLAIN_INTERVAL_SECONDS = 5;
  private static final long PLAIN_INTERVAL_NANOS = PLAIN_INTERVAL_SECONDS * 1_000_000_000L;

  private final PrintWriter err;
  private final long total;
  private final LongSupplier clock;
  private final boolean terminal;
  private final long started;
  private long lastPrinted;
  private long lastTenth;
  private int lastWidth;

  /**
   * Creates a progress line.
   *
   * @param err where to print it
   * @param total how many units the job has
   * @param clock a nanosecond clock ({@link System#nanoTime})
   * @param terminal whether {@code err} is a terminal: a line rewritten in place, else plain lines
   */
  Progress(PrintWriter err, long total, LongSupplier clock, boolean terminal) {
    this.err = err;
    this.total = total;
    this.clock = clock;
    this.terminal = terminal;
    this.started = clock.getAsLong();
    this.lastPrinted = terminal ? started - MIN_INTERVAL_NANOS : started;
  }

  /**
   * Reports that {@code done} units are finished, {@code what} running now; prints if the last
   * print is old enough (on a terminal), or if a new tenth was crossed or the last line is old
   * enough (elsewhere).
   *
   * @param done units finished
   * @param what what runs now
   */
  synchronized void update(long done, String what) {
    long now = clock.getAsLong();
    long pct = total == 0 ? 100 : done * 100 / total;
    boolean due =
        terminal
            ? now - lastPrinted >= MIN_INTERVAL_NANOS || done >= total
            : pct / 10 > lastTenth || now - lastPrinted >= PLAIN_INTERVAL_NANOS;
    if (!due) {
      return;
    }
    lastPrinted = now;
    lastTenth = pct / 10;
    String line =
        String.format("[%3d%%] %d/%d runs, %ds  %s", pct, done, total, elapsedSeconds(now), what);
    if (terminal) {
      err.print("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
      lastWidth = line.length();
    } else {
      err.println(line);
    }
    err.flush();
  }

  /**
   * Ends the line.
   *
   * @param summary the last words, such as {@code "done"}
   */
  synchronized void finish(String summary) {
    String line =
        String.format("%d runs in %ds: %s", total, elapsedSeconds(clock.getAsLong()), summary);
    if (terminal) {
      err.println("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
    } else {
      err.println(line);
    }
    err.flush();
  }

  private long elapsedSeconds(long now) {
    return (now - started) / 1_000_000_000L;
  }
}
