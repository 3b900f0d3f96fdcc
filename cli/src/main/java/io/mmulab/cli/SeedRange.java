package io.mmulab.cli;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.LongStream;

/**
 * An inclusive range of scheduler seeds, written {@code A..B} (or {@code N} for the single seed
 * {@code N}).
 *
 * @param first the first seed, not negative
 * @param last the last seed, not before {@code first}, at most {@link #MAX_SEED}
 */
record SeedRange(long first, long last) {
  /**
   * The largest seed accepted: every 18-digit number. It leaves room above it, so that a search
   * past the last seed of a range cannot overflow a {@code long}.
   */
  static final long MAX_SEED = 999_999_999_999_999_999L;

  private static final Pattern RANGE = Pattern.compile("(\\d+)\\.\\.(\\d+)");
  private static final Pattern SINGLE = Pattern.compile("\\d+");

  /**
   * Validates the bounds.
   *
   * @throws IllegalArgumentException if {@code first} is negative or after {@code last}, or {@code
   *     last} is above {@link #MAX_SEED}
   */
  SeedRange {
    if (first < 0 || last < first || last > MAX_SEED) {
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
      long n = seed(text, t);
      return new SeedRange(n, n);
    }
    Matcher m = RANGE.matcher(t);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "invalid seed range '"
              + text
              + "': expected A..B with 0 <= A <= B <= "
              + MAX_SEED
              + ", such as 1..500");
    }
    long a = seed(text, m.group(1));
    long b = seed(text, m.group(2));
    if (b < a) {
      throw new IllegalArgumentException(
          "invalid seed range '" + text + "': the first seed " + a + " is after the last " + b);
    }
    return new SeedRange(a, b);
  }

  /** Parses one seed's digits, refusing a number above {@link #MAX_SEED} by name. */
  private static long seed(String text, String digits) {
    String d = digits.replaceFirst("^0+(?=\\d)", "");
    if (d.length() > 18) {
      throw new IllegalArgumentException(
          "invalid seed range '"
              + text
              + "': the seed "
              + digits
              + " is too large; the largest seed accepted is "
              + MAX_SEED);
    }
    return Long.parseLong(d);
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
