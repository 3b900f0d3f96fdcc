package io.mmulab.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class IntervalTreeTest {

  /** Base seed of the randomized tests; every run seed is derived from it. */
  private static final long BASE_SEED = Long.getLong("mmulab.seed", 0x5EED_1234L);

  private static final int SEEDS_PER_DOMAIN = 2;
  private static final int OPS_PER_RUN = 14_000;
  private static final long MAX = -1L; // 2^64 - 1 unsigned

  private static final Comparator<TestNode> BY_UNSIGNED_START =
      (a, b) -> Long.compareUnsigned(a.start(), b.start());

  /** A tree member; {@code id} makes failure messages readable. */
  private static final class TestNode extends IntervalTree.Node {
    final int id;

    TestNode(int id, long start, long last) {
      this.id = id;
      setInterval(start, last);
    }

    void setBounds(long start, long last) {
      setInterval(start, last);
    }

    boolean intersects(long queryStart, long queryLast) {
      return Long.compareUnsigned(start(), queryLast) <= 0
          && Long.compareUnsigned(queryStart, last()) <= 0;
    }

    @Override
    public String toString() {
      return "#"
          + id
          + "[0x"
          + Long.toUnsignedString(start(), 16)
          + ", 0x"
          + Long.toUnsignedString(last(), 16)
          + "]";
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Randomized model test (spec invariant 39)

  /** Value distributions for interval bounds and query bounds. */
  enum Domain {
    /** Values in [0, 16): many equal starts and overlaps. */
    TINY {
      @Override
      long value(SplittableRandom rnd) {
        return rnd.nextInt(16);
      }
    },
    /** Values in [0, 2000): moderate overlap, some ties. */
    SMALL {
      @Override
      long value(SplittableRandom rnd) {
        return rnd.nextInt(2000);
      }
    },
    /** Full unsigned range, with heavy weight on 0, 2^63 and 2^64-1 and their neighbours. */
    FULL_64 {
      @Override
      long value(SplittableRandom rnd) {
        int kind = rnd.nextInt(4);
        if (kind == 0) {
          return rnd.nextLong();
        }
        long[] special = {0L, Long.MAX_VALUE, Long.MIN_VALUE, MAX};
        long base = special[rnd.nextInt(special.length)];
        return kind == 1 ? base : base + rnd.nextInt(9) - 4;
      }
    },
    /** Values straddling 2^63, where a signed comparison gives the wrong answer. */
    SIGN_BOUNDARY {
      @Override
      long value(SplittableRandom rnd) {
        return Long.MIN_VALUE + rnd.nextInt(400) - 200;
      }
    },
    /** Mostly short intervals over 2^40, with some reaching far up to 2^64-1 (stresses pruning). */
    LONG_AND_SHORT {
      @Override
      long value(SplittableRandom rnd) {
        return rnd.nextInt(10) == 0 ? MAX - rnd.nextLong(1L << 62) : rnd.nextLong(1L << 40);
      }

      @Override
      long[] interval(SplittableRandom rnd) {
        long start = rnd.nextLong(1L << 40);
        long last =
            rnd.nextInt(10) == 0 ? MAX - rnd.nextLong(1L << 62) : start + rnd.nextLong(1L << 20);
        return new long[] {start, last};
      }
    };

    abstract long value(SplittableRandom rnd);

    /** Returns a valid {start, last} pair; by default two values in order, often a point. */
    long[] interval(SplittableRandom rnd) {
      long a = value(rnd);
      long b = rnd.nextInt(5) == 0 ? a : value(rnd);
      return Long.compareUnsigned(a, b) <= 0 ? new long[] {a, b} : new long[] {b, a};
    }
  }

  static Stream<Arguments> randomRuns() {
    Stream.Builder<Arguments> runs = Stream.builder();
    for (Domain domain : Domain.values()) {
      for (int i = 0; i < SEEDS_PER_DOMAIN; i++) {
        runs.add(Arguments.of(domain, i));
      }
    }
    return runs.build();
  }

  @ParameterizedTest(name = "{0}, derived seed #{1}")
  @MethodSource("randomRuns")
  @DisplayName(
      "invariant 39: random insert/remove/query sequences match a brute-force model, "
          + "with all tree invariants after every step")
  void randomOperations_matchBruteForceModel(Domain domain, int seedIndex) {
    long runSeed = mix64(BASE_SEED + 0x9E37_79B9_7F4A_7C15L * (domain.ordinal() * 16 + seedIndex));
    new ModelRun(domain, runSeed).run(seedIndex);
  }

  /** One seeded sequence of operations checked against a brute-force list model. */
  private static final class ModelRun {
    private final Domain domain;
    private final long runSeed;
    private final SplittableRandom rnd;
    private final IntervalTree<TestNode> tree = new IntervalTree<>();

    /** Live nodes in insertion order: a stable sort by start gives the expected tree order. */
    private final List<TestNode> live = new ArrayList<>();

    /** Removed nodes kept for re-insertion. */
    private final List<TestNode> removed = new ArrayList<>();

    private int nextId;
    private boolean growing = true;
    private int target;

    ModelRun(Domain domain, long runSeed) {
      this.domain = domain;
      this.runSeed = runSeed;
      this.rnd = new SplittableRandom(runSeed);
    }

    void run(int seedIndex) {
      target = 200 + rnd.nextInt(2800);
      for (int step = 0; step < OPS_PER_RUN; step++) {
        try {
          step();
          checkState();
        } catch (AssertionError | RuntimeException e) {
          throw new AssertionError(
              String.format(
                  "failed at step %d of %d (tree size %d); replay with -Dmmulab.seed=%d"
                      + " (base seed), domain %s, derived seed #%d (run seed 0x%x): %s",
                  step,
                  OPS_PER_RUN,
                  live.size(),
                  BASE_SEED,
                  domain,
                  seedIndex,
                  runSeed,
                  e.getMessage()),
              e);
        }
      }
    }

    private void step() {
      if (growing && live.size() >= target) {
        growing = false;
        target = rnd.nextInt(30);
      } else if (!growing && live.size() <= target) {
        growing = true;
        target = 200 + rnd.nextInt(2800);
      }
      int roll = rnd.nextInt(100);
      int inserts = growing ? 50 : 15;
      int removes = growing ? 15 : 50;
      if (roll < inserts) {
        insert();
      } else if (roll < inserts + removes && !live.isEmpty()) {
        remove();
      } else {
        query();
      }
    }

    private void insert() {
      TestNode node;
      if (!removed.isEmpty() && rnd.nextInt(5) == 0) {
        node = removed.remove(rnd.nextInt(removed.size()));
        if (rnd.nextBoolean()) {
          long[] bounds = domain.interval(rnd);
          node.setBounds(bounds[0], bounds[1]);
        }
      } else {
        long[] bounds = domain.interval(rnd);
        node = new TestNode(nextId++, bounds[0], bounds[1]);
      }
      tree.insert(node);
      live.add(node);
      assertThat(node.inTree()).as("inTree after insert of %s", node).isTrue();
    }

    private void remove() {
      TestNode node;
      if (rnd.nextInt(10) == 0) {
        node = tree.leftmost();
        live.remove(node);
      } else {
        node = live.remove(rnd.nextInt(live.size()));
      }
      tree.remove(node);
      removed.add(node);
      assertThat(node.inTree()).as("inTree after remove of %s", node).isFalse();
    }

    private void query() {
      long queryStart;
      long queryLast;
      int kind = rnd.nextInt(20);
      if (kind == 0) {
        queryStart = 0;
        queryLast = MAX;
      } else if (kind < 8) {
        queryStart = domain.value(rnd);
        queryLast = queryStart;
      } else if (kind < 16 || live.isEmpty()) {
        long[] bounds = domain.interval(rnd);
        queryStart = bounds[0];
        queryLast = bounds[1];
      } else {
        // A point query on or just beside an existing endpoint (wrapping is intended).
        TestNode n = live.get(rnd.nextInt(live.size()));
        long[] points = {n.start(), n.last(), n.start() - 1, n.last() + 1};
        queryStart = points[rnd.nextInt(points.length)];
        queryLast = queryStart;
      }
      List<TestNode> expected = new ArrayList<>();
      for (TestNode n : live) {
        if (n.intersects(queryStart, queryLast)) {
          expected.add(n);
        }
      }
      expected.sort(BY_UNSIGNED_START);
      List<TestNode> actual = enumerate(tree, queryStart, queryLast, live.size() + 1);
      // Only build AssertJ's description when it is needed: this runs tens of thousands of times.
      if (!actual.equals(expected)) {
        assertThat(actual)
            .as(
                "hits for query [0x%s, 0x%s]",
                Long.toUnsignedString(queryStart, 16), Long.toUnsignedString(queryLast, 16))
            .containsExactlyElementsOf(expected);
      }
    }

    private void checkState() {
      tree.checkInvariants();
      assertThat(tree.size()).as("size").isEqualTo(live.size());
      assertThat(tree.isEmpty()).as("isEmpty").isEqualTo(live.isEmpty());
      TestNode first = null;
      for (TestNode n : live) {
        if (first == null || Long.compareUnsigned(n.start(), first.start()) < 0) {
          first = n;
        }
      }
      if (tree.leftmost() != first) {
        assertThat(tree.leftmost()).as("leftmost").isSameAs(first);
      }
    }
  }

  /** Collects every hit of a query via iterFirst/iterNext; fails instead of looping forever. */
  private static List<TestNode> enumerate(
      IntervalTree<TestNode> tree, long queryStart, long queryLast, int limit) {
    List<TestNode> hits = new ArrayList<>();
    for (TestNode n = tree.iterFirst(queryStart, queryLast);
        n != null;
        n = tree.iterNext(n, queryStart, queryLast)) {
      hits.add(n);
      if (hits.size() > limit) {
        throw new AssertionError("enumeration did not stop after " + limit + " hits: " + hits);
      }
    }
    return hits;
  }

  private static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
    return z ^ (z >>> 31);
  }

  // ---------------------------------------------------------------------------------------------
  // Unit tests

  @Test
  void emptyTree_findsNothing() {
    IntervalTree<TestNode> tree = new IntervalTree<>();

    assertThat(tree.size()).isZero();
    assertThat(tree.isEmpty()).isTrue();
    assertThat(tree.leftmost()).isNull();
    assertThat(tree.iterFirst(0, MAX)).isNull();
    assertThat(tree.iterFirst(0, 0)).isNull();
    assertThat(tree.iterFirst(MAX, MAX)).isNull();
    tree.checkInvariants();
  }

  @Test
  void singleNode_touchingMaxUnsigned_isFoundOnlyByIntersectingQueries() {
    IntervalTree<TestNode> tree = new IntervalTree<>();
    TestNode node = new TestNode(1, Long.MIN_VALUE, MAX);
    tree.insert(node);
    tree.checkInvariants();

    assertThat(tree.size()).isEqualTo(1);
    assertThat(tree.leftmost()).isSameAs(node);
    assertThat(tree.iterFirst(MAX, MAX)).isSameAs(node);
    assertThat(tree.iterFirst(0, MAX)).isSameAs(node);
    assertThat(tree.iterFirst(Long.MIN_VALUE, Long.MIN_VALUE)).isSameAs(node);
    assertThat(tree.iterFirst(Long.MAX_VALUE, Long.MIN_VALUE)).isSameAs(node);
    assertThat(tree.iterFirst(0, Long.MAX_VALUE)).isNull();
    assertThat(tree.iterFirst(Long.MAX_VALUE, Long.MAX_VALUE)).isNull();
    assertThat(tree.iterNext(node, 0, MAX)).isNull();
  }

  @Test
  void equalStarts_enumerateInInsertionOrder_andReinsertGoesLast() {
    IntervalTree<TestNode> tree = new IntervalTree<>();
    TestNode a = new TestNode(1, 5, 10);
    TestNode b = new TestNode(2, 5, 6);
    TestNode c = new TestNode(3, 3, 20);
    TestNode d = new TestNode(4, 5, 5);
    TestNode e = new TestNode(5, 7, 8);
    for (TestNode n : List.of(a, b, c, d, e)) {
      tree.insert(n);
      tree.checkInvariants();
    }

    assertThat(enumerate(tree, 0, MAX, 10)).containsExactly(c, a, b, d, e);
    assertThat(enumerate(tree, 6, 6, 10)).containsExactly(c, a, b);
    assertThat(enumerate(tree, 5, 5, 10)).containsExactly(c, a, b, d);

    tree.remove(a);
    tree.insert(a);
    tree.checkInvariants();

    assertThat(enumerate(tree, 0, MAX, 10)).containsExactly(c, b, d, a, e);
  }

  @Test
  void removeThenReinsert_withNewBounds_isFoundAtNewPlace() {
    IntervalTree<TestNode> tree = new IntervalTree<>();
    TestNode a = new TestNode(1, 10, 20);
    TestNode b = new TestNode(2, 30, 40);
    tree.insert(a);
    tree.insert(b);

    tree.remove(a);
    tree.checkInvariants();
    assertThat(a.inTree()).isFalse();
    assertThat(tree.iterFirst(15, 15)).isNull();

    a.setBounds(50, 60);
    tree.insert(a);
    tree.checkInvariants();
    assertThat(a.inTree()).isTrue();
    assertThat(tree.iterFirst(15, 15)).isNull();
    assertThat(tree.iterFirst(55, 55)).isSameAs(a);
    assertThat(enumerate(tree, 0, MAX, 10)).containsExactly(b, a);
  }

  @Test
  void insert_nodeAlreadyInTree_throws() {
    IntervalTree<TestNode> tree = new IntervalTree<>();
    IntervalTree<TestNode> other = new IntervalTree<>();
    TestNode node = new TestNode(1, 1, 2);
    tree.insert(node);

    assertThatThrownBy(() -> tree.insert(node)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> other.insert(node)).isInstanceOf(IllegalStateException.class);
    tree.checkInvariants();
    other.checkInvariants();
    assertThat(tree.size()).isEqualTo(1);
    assertThat(other.size()).isZero();
  }

  @Test
  void remove_nodeNotInTree_throws() {
    IntervalTree<TestNode> tree = new IntervalTree<>();
    TestNode inTree = new TestNode(1, 1, 2);
    TestNode never = new TestNode(2, 1, 2);
    tree.insert(inTree);

    assertThatThrownBy(() -> tree.remove(never)).isInstanceOf(IllegalStateException.class);
    tree.remove(inTree);
    assertThatThrownBy(() -> tree.remove(inTree)).isInstanceOf(IllegalStateException.class);
    tree.checkInvariants();
    assertThat(tree.isEmpty()).isTrue();
  }

  @Test
  void setInterval_startAboveLastUnsigned_throwsNamingBothValues() {
    assertThatThrownBy(() -> new TestNode(1, 0x20, 0x10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0x20")
        .hasMessageContaining("0x10");
    // 2^63 > 2^63 - 1 unsigned, although not signed.
    assertThatThrownBy(() -> new TestNode(2, Long.MIN_VALUE, Long.MAX_VALUE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0x8000000000000000")
        .hasMessageContaining("0x7fffffffffffffff");
    assertThatThrownBy(() -> new TestNode(3, MAX, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0xffffffffffffffff");

    TestNode valid = new TestNode(4, Long.MAX_VALUE, Long.MIN_VALUE);
    assertThat(valid.start()).isEqualTo(Long.MAX_VALUE);
    assertThat(valid.last()).isEqualTo(Long.MIN_VALUE);
  }

  @Test
  void setInterval_whileInTree_throwsAndKeepsBounds() {
    IntervalTree<TestNode> tree = new IntervalTree<>();
    TestNode node = new TestNode(1, 3, 4);
    tree.insert(node);

    assertThatThrownBy(() -> node.setBounds(5, 6)).isInstanceOf(IllegalStateException.class);
    assertThat(node.start()).isEqualTo(3);
    assertThat(node.last()).isEqualTo(4);
    tree.checkInvariants();
  }

  @Test
  void leftmost_isCachedAcrossRemoves() {
    IntervalTree<TestNode> tree = new IntervalTree<>();
    SplittableRandom rnd = new SplittableRandom(BASE_SEED);
    List<TestNode> live = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      long start = rnd.nextInt(4) == 0 ? rnd.nextLong() : rnd.nextInt(100);
      TestNode n = new TestNode(i, start, start);
      tree.insert(n);
      live.add(n);
    }
    while (!live.isEmpty()) {
      TestNode expected = live.stream().min(BY_UNSIGNED_START).orElseThrow();
      assertThat(tree.leftmost()).isSameAs(expected);
      assertThat(tree.iterFirst(0, MAX)).isSameAs(expected);
      // Alternate between removing the leftmost node itself and some other node.
      TestNode victim = live.size() % 2 == 0 ? expected : live.get(rnd.nextInt(live.size()));
      live.remove(victim);
      tree.remove(victim);
      tree.checkInvariants();
    }
    assertThat(tree.leftmost()).isNull();
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void millionNodes_sequentialInsertEnumerateAndRemoveAll_workIteratively() {
    int n = 1_000_000;
    IntervalTree<TestNode> tree = new IntervalTree<>();
    TestNode[] nodes = new TestNode[n];
    for (int i = 0; i < n; i++) {
      nodes[i] = new TestNode(i, 2L * i, 2L * i + 1);
      tree.insert(nodes[i]);
    }
    assertThat(tree.size()).isEqualTo(n);

    int count = 0;
    for (TestNode x = tree.iterFirst(0, MAX); x != null; x = tree.iterNext(x, 0, MAX)) {
      if (x != nodes[count]) {
        assertThat(x).as("hit #%d of the full-range enumeration", count).isSameAs(nodes[count]);
      }
      count++;
    }
    assertThat(count).isEqualTo(n);
    assertThat(enumerate(tree, 1001, 1004, 10)).containsExactly(nodes[500], nodes[501], nodes[502]);
    tree.checkInvariants();

    // Remove in a scattered order (7919 is coprime to n) to reach every removal case.
    for (int i = 0; i < n; i++) {
      tree.remove(nodes[(int) ((i * 7919L) % n)]);
    }
    tree.checkInvariants();
    assertThat(tree.isEmpty()).isTrue();
    assertThat(tree.leftmost()).isNull();
    assertThat(tree.iterFirst(0, MAX)).isNull();
  }
}
