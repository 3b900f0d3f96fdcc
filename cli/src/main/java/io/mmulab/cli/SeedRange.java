package io.mmulab.cli;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.LongStream;

/**
 * An inclusive range of scheduler seeds, written {@code A..B} (or {@code N} for the single seed
 * {@code N}).
 *
 * @param first the first seed, not negative
 * @param last the last seed, not before {@code first}
 */
record SeedRange(long first, long last) {
  private static final Pattern RANGE = Pattern.compile("(\\d{1,18})\\.\\.(\\d{1,18})");
  private static final Pattern SINGLE = Pattern.compile("\\d{1,18}");

  /**
   * Validates the bounds.
   *
   * @throws IllegalArgumentException if {@code first} is negative or after {@code last}
   */
  SeedRange {
    if (first < 0 || last < first) {
      throw new IllegalArgumentException("bad seed range " + first + ".." + last);
    }
  }

  /**
   * Parses {@code A..B} or {@code N}.
   *
   * @param text the argument
   * @return the range
   * @throws IllegalArgumentException with a one-line message saying what is expected
   */
  static SeedRange parse(String text) {
    String t = text.strip();
    if (SINGLE.matcher(t).matches()) {
      long n = Long.parseLong(t);
      return new SeedRange(n, n);
    }
    Matcher m = RANGE.matcher(t);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "invalid seed range '" + text + "': expected A..B with 0 <= A <= B, such as 1..500");
    }
    long a = Long.parseLong(m.group(1));
    long b = Long.parseLong(m.group(2));
    if (b < a) {
      throw new IllegalArgumentException(
          "invalid seed range '" + text + "': the first seed " + a + " is after the last " + b);
    }
    return new SeedRange(a, b);
  }

  /**
   * Returns how many seeds the range holds.
   *
   * @return {@code last - first + 1}
   */
  long count() {
    return last - first + 1;
  }

  /**
   * Returns the seeds in order.
   *
   * @return the seeds
   */
  LongStream seeds() {
    return LongStream.rangeClosed(first, last);
  }

  @Override
  public String toString() {
    return first == last ? Long.toString(first) : first + ".." + last;
  }
}
