package io.mmulab.cli;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One of {@code n} equal parts of a seed sweep, written {@code i/n} with {@code 1 <= i <= n}, so
 * that {@code n} machines (or batch jobs) each run {@code explore --shard i/n} over the same range
 * and together cover it exactly once.
 *
 * @param index which part, from 1
 * @param count how many parts
 */
record Shard(int index, int count) {
  /** The whole sweep. */
  static final Shard ALL = new Shard(1, 1);

  private static final Pattern SHARD = Pattern.compile("(\\d{1,9})/(\\d{1,9})");

  /**
   * Validates the numbers.
   *
   * @throws IllegalArgumentException unless {@code 1 <= index <= count}
   */
  Shard {
    if (index < 1 || index > count) {
      throw new IllegalArgumentException("bad shard " + index + "/" + count);
    }
  }

  /**
   * Parses {@code i/n}.
   *
   * @param text the argument
   * @return the shard
   * @throws IllegalArgumentException with a one-line message saying what is expected
   */
  static Shard parse(String text) {
    Matcher m = SHARD.matcher(text.strip());
    if (m.matches()) {
      int i = Integer.parseInt(m.group(1));
      int n = Integer.parseInt(m.group(2));
      if (i >= 1 && i <= n) {
        return new Shard(i, n);
      }
    }
    throw new IllegalArgumentException(
        "invalid shard '" + text + "': expected i/n with 1 <= i <= n, such as 2/8");
  }

  /**
   * Returns this shard's part of {@code range}: contiguous, the first {@code count % n} parts one
   * seed longer than the others.
   *
   * @param range the whole sweep
   * @return the part, empty if the range has fewer seeds than there are shards
   */
  Optional<SeedRange> slice(SeedRange range) {
    long total = range.count();
    long base = total / count;
    long rem = total % count;
    long k = index - 1L;
    long size = base + (k < rem ? 1 : 0);
    if (size == 0) {
      return Optional.empty();
    }
    long from = range.first() + k * base + Math.min(k, rem);
    return Optional.of(new SeedRange(from, from + size - 1));
  }

  @Override
  public String toString() {
    return index + "/" + count;
  }
}
