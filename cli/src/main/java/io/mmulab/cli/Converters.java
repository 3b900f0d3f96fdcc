package io.mmulab.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** The picocli converters of mmulab's own argument types; bad values become one-line errors. */
final class Converters {
  private Converters() {}

  /** {@code A..B} or {@code N} (the single seed N). */
  static final class Seeds implements ITypeConverter<SeedRange> {
    @Override
    public SeedRange convert(String value) {
      try {
        return SeedRange.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  /** {@code A..B}, or {@code N} for the budget {@code 1..N}. */
  static final class Budget implements ITypeConverter<SeedRange> {
    @Override
    public SeedRange convert(String value) {
      try {
        SeedRange r = SeedRange.parse(value);
        if (!value.contains("..")) {
          if (r.first() < 1) {
            throw new IllegalArgumentException(
                "invalid seed budget '" + value + "': expected N >= 1 (seeds 1..N) or A..B");
          }
          return new SeedRange(1, r.first());
        }
        return r;
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  /** {@code i/n}. */
  static final class Shards implements ITypeConverter<Shard> {
    @Override
    public Shard convert(String value) {
      try {
        return Shard.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
