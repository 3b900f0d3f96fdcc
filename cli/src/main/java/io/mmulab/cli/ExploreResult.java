package io.mmulab.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What one {@code explore} sweep (or one shard of it) found, as {@code explore} prints it and as
 * {@code merge} reads it back from {@code explore --json}.
 *
 * @param driver the driver's name
 * @param variant the variant's name, such as {@code legacy}
 * @param scenario the scenario's name
 * @param seeds the whole sweep
 * @param shard which part of it this is ({@link Shard#ALL} for all of it)
 * @param shardSeeds the seeds of that part, empty if it has none
 * @param runs how many runs were judged
 * @param clean how many of them were clean
 * @param failed how many failed in a way no declared race covers
 * @param races the first seed showing each declared race, by race name
 * @param notClean what each seed that was not clean showed, by seed
 */
record ExploreResult(
    String driver,
    String variant,
    String scenario,
    SeedRange seeds,
    Shard shard,
    Optional<SeedRange> shardSeeds,
    long runs,
    long clean,
    long failed,
    SortedMap<String, Long> races,
    SortedMap<Long, String> notClean) {

  /** Copies the maps, read-only. */
  ExploreResult {
    races = Collections.unmodifiableSortedMap(new TreeMap<>(races));
    notClean = Collections.unmodifiableSortedMap(new TreeMap<>(notClean));
  }

  /**
   * Tells whether no seed failed in a way no declared race covers.
   *
   * @return true if {@code failed} is 0
   */
  boolean passed() {
    return failed == 0;
  }

  /**
   * Returns {@code driver/variant scenario}.
   *
   * @return the label
   */
  String label() {
    return driver + "/" + variant + " " + scenario;
  }

  /**
   * Renders the text {@code explore} prints: a header, one line per seed that was not clean, and a
   * summary.
   *
   * @return the lines, each ended with a newline
   */
  String text() {
    String n = System.lineSeparator();
    StringBuilder sb = new StringBuilder("explore ").append(label()).append(", seeds ");
    sb.append(seeds);
    if (!shard.equals(Shard.ALL)) {
      sb.append(", shard ").append(shard).append(": ");
      sb.append(shardSeeds.map(String::valueOf).orElse("no seeds"));
    }
    sb.append(n);
    notClean.forEach(
        (seed, what) -> sb.append("seed ").append(seed).append(": ").append(what).append(n));
    List<String> first = new ArrayList<>();
    races.forEach((race, seed) -> first.add(race + " at seed " + seed));
    sb.append(runs).append(" runs: ").append(clean).append(" clean, ");
    sb.append(runs - clean - failed).append(" showed declared races only");
    if (!first.isEmpty()) {
      sb.append(" (first: ").append(String.join(", ", first)).append(')');
    }
    sb.append(", ").append(failed).append(" failed undeclared").append(n);
    return sb.toString();
  }

  /**
   * Renders the JSON {@code explore --json} prints, which {@link #fromJson} reads back.
   *
   * @return the JSON text, ended with a newline
   */
  String json() {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("driver", driver);
    root.put("variant", variant);
    root.put("scenario", scenario);
    root.put("seeds", seeds.toString());
    root.put("shard", shard.toString());
    root.put("shardSeeds", shardSeeds.map(String::valueOf).orElse(null));
    root.put("runs", runs);
    root.put("clean", clean);
    root.put("failed", failed);
    root.put("racesFirstSeed", new LinkedHashMap<>(races));
    List<Object> list = new ArrayList<>();
    notClean.forEach(
        (seed, what) -> {
          Map<String, Object> f = new LinkedHashMap<>();
          f.put("seed", seed);
          f.put("what", what);
          list.add(f);
        });
    root.put("notClean", list);
    root.put("passed", passed());
    return Json.write(root) + "\n";
  }

  /**
   * Reads what {@link #json} wrote, checking that it is consistent: the shard's seeds are its part
   * of the sweep, the counts add up, and every seed named lies in the shard.
   *
   * @param text the JSON text
   * @return the result
   * @throws IllegalArgumentException with a one-line message naming what is wrong
   */
  static ExploreResult fromJson(String text) {
    if (!(Json.read(text) instanceof Map<?, ?> root)) {
      throw new IllegalArgumentException("not a JSON object");
    }
    SeedRange seeds = SeedRange.parse(string(root, "seeds"));
    Shard shard = Shard.parse(string(root, "shard"));
    Optional<SeedRange> slice = shard.slice(seeds);
    Object given = root.get("shardSeeds");
    String expected = slice.map(String::valueOf).orElse(null);
    if (given == null ? expected != null : !given.equals(expected)) {
      throw new IllegalArgumentException(
          "shard " + shard + " of seeds " + seeds + " is " + expected + ", not " + given);
    }
    long runs = count(root, "runs");
    long clean = count(root, "clean");
    long failed = count(root, "failed");
    long shardCount = slice.map(SeedRange::count).orElse(0L);
    if (runs != shardCount) {
      throw new IllegalArgumentException(
          runs + " runs for the " + shardCount + " seed(s) of shard " + shard);
    }
    SortedMap<Long, String> notClean = new TreeMap<>();
    if (!(root.get("notClean") instanceof List<?> list)) {
      throw new IllegalArgumentException("\"notClean\" is not a list");
    }
    for (Object o : list) {
      if (!(o instanceof Map<?, ?> entry)
          || !(entry.get("seed") instanceof Long seed)
          || !(entry.get("what") instanceof String what)) {
        throw new IllegalArgumentException("a \"notClean\" entry is not {seed, what}");
      }
      requireInShard(seed, slice, shard);
      if (notClean.put(seed, what) != null) {
        throw new IllegalArgumentException("seed " + seed + " is listed twice");
      }
    }
    if (clean + notClean.size() != runs || failed > notClean.size()) {
      throw new IllegalArgumentException(
          "the counts do not add up: "
              + runs
              + " runs, "
              + clean
              + " clean, "
              + failed
              + " failed, "
              + notClean.size()
              + " not clean");
    }
    SortedMap<String, Long> races = new TreeMap<>();
    if (!(root.get("racesFirstSeed") instanceof Map<?, ?> raceMap)) {
      throw new IllegalArgumentException("\"racesFirstSeed\" is not an object");
    }
    for (Map.Entry<?, ?> e : raceMap.entrySet()) {
      if (!(e.getValue() instanceof Long seed)) {
        throw new IllegalArgumentException("race " + e.getKey() + " has no seed");
      }
      requireInShard(seed, slice, shard);
      races.put((String) e.getKey(), seed);
    }
    if (!(root.get("passed") instanceof Boolean passed) || passed != (failed == 0)) {
      throw new IllegalArgumentException("\"passed\" does not match " + failed + " failed");
    }
    return new ExploreResult(
        string(root, "driver"),
        string(root, "variant"),
        string(root, "scenario"),
        seeds,
        shard,
        slice,
        runs,
        clean,
        failed,
        races,
        notClean);
  }

  private static void requireInShard(long seed, Optional<SeedRange> slice, Shard shard) {
    if (slice.isEmpty() || seed < slice.get().first() || seed > slice.get().last()) {
      throw new IllegalArgumentException(
          "seed " + seed + " is outside shard " + shard + " (" + slice.orElse(null) + ")");
    }
  }

  private static String string(Map<?, ?> root, String key) {
    if (!(root.get(key) instanceof String s)) {
      throw new IllegalArgumentException("\"" + key + "\" is missing or not a string");
    }
    return s;
  }

  private static long count(Map<?, ?> root, String key) {
    if (!(root.get(key) instanceof Long n) || n < 0) {
      throw new IllegalArgumentException("\"" + key + "\" is missing or not a count");
    }
    return n;
  }
}
