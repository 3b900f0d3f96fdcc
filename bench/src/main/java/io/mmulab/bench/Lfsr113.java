package io.mmulab.bench;

/**
 * The Linux kernel's seeded pseudo-random generator ({@code struct rnd_state}, {@code
 * prandom_seed_state} and {@code prandom_u32_state}), ported bit for bit so that a benchmark seeded
 * like {@code lib/interval_tree_test.c} builds exactly the kernel's data set.
 *
 * <p>It is L'Ecuyer's maximally equidistributed combined Tausworthe generator LFSR113: four 32-bit
 * words, each advanced by {@code s = ((s & c) << d) ^ (((s << a) ^ s) >>> b)} with {@code (a, b, c,
 * d)} = {@code (6, 13, 0xFFFFFFFE, 18)}, {@code (2, 27, 0xFFFFFFF8, 2)}, {@code (13, 21,
 * 0xFFFFFFF0, 7)}, {@code (3, 12, 0xFFFFFF80, 13)}; the output is the exclusive or of the four
 * words. All arithmetic is on unsigned 32-bit values, held here in Java {@code int}s: shifts right
 * are logical ({@code >>>}) and shifts left drop the bits above 31, exactly like C {@code u32}.
 *
 * <p>Seeding ({@code prandom_seed_state}): {@code i = ((seed >> 32) ^ (seed << 10) ^ seed) &
 * 0xffffffff} on the unsigned 64-bit seed, then every word starts at {@code i}, raised by its
 * minimum (2, 8, 16, 128) when below it, because a word under that bound would degenerate. The
 * kernel does not warm the generator up after this seeding (only its per-CPU and self-test seeding
 * paths do), so neither does this port.
 *
 * <p>Not thread-safe.
 */
public final class Lfsr113 {
  private int s1;
  private int s2;
  private int s3;
  private int s4;

  private Lfsr113(int s1, int s2, int s3, int s4) {
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    this.s4 = s4;
  }

  /**
   * Seeds a generator like the kernel's {@code prandom_seed_state(state, seed)}.
   *
   * @param seed the unsigned 64-bit seed
   * @return a generator whose outputs equal the kernel's for the same seed
   */
  public static Lfsr113 seeded(long seed) {
    int i = (int) ((seed >>> 32) ^ (seed << 10) ^ seed);
    return new Lfsr113(atLeast(i, 2), atLeast(i, 8), atLeast(i, 16), atLeast(i, 128));
  }

  /**
   * Creates a generator from four raw state words, each already at or above its minimum; for tests
   * that reproduce the kernel's other seeding paths.
   */
  static Lfsr113 ofState(int s1, int s2, int s3, int s4) {
    return new Lfsr113(s1, s2, s3, s4);
  }

  /**
   * The kernel's {@code __seed(x, m)}: {@code x} if it is at least {@code m} (unsigned), else
   * {@code x + m}.
   */
  static int atLeast(int x, int m) {
    return Integer.compareUnsigned(x, m) < 0 ? x + m : x;
  }

  /**
   * Advances the state and returns the next output, like the kernel's {@code prandom_u32_state}.
   *
   * @return 32 random bits; read them as unsigned ({@link Integer#toUnsignedLong})
   */
  public int nextInt() {
    s1 = ((s1 & 0xFFFFFFFE) << 18) ^ (((s1 << 6) ^ s1) >>> 13);
    s2 = ((s2 & 0xFFFFFFF8) << 2) ^ (((s2 << 2) ^ s2) >>> 27);
    s3 = ((s3 & 0xFFFFFFF0) << 7) ^ (((s3 << 13) ^ s3) >>> 21);
    s4 = ((s4 & 0xFFFFFF80) << 13) ^ (((s4 << 3) ^ s4) >>> 12);
    return s1 ^ s2 ^ s3 ^ s4;
  }

  /**
   * Returns the state words, for tests.
   *
   * @return {@code {s1, s2, s3, s4}}
   */
  int[] state() {
    return new int[] {s1, s2, s3, s4};
  }
}
