package io.mmulab.bench;

import io.mmulab.core.IntervalTree;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.BitSet;

/**
 * The workload of the kernel's interval tree test module ({@code lib/interval_tree_test.c}, spec:
 * {@code docs/notifier.md}) on {@link IntervalTree}: the same parameters, the same generator
 * ({@link Lfsr113}) seeded the same way and drawn in the same order, hence the same nodes, the same
 * queries and the same hit counts as the kernel.
 *
 * <p>The JMH benchmark {@link IntervalTreeBenchmark} times one round of {@link #basicRound} or
 * {@link #searchRound} per operation; {@link #main} replays the whole module with its own loop
 * counts and prints what the module prints, in nanoseconds instead of cycles.
 *
 * <p>Quirk kept from the kernel: a node's start is drawn as {@code (rand >> 4) % last}, so a last
 * of 0 is a division by zero (an oops in the kernel, an {@link ArithmeticException} here). With the
 * default {@code max_endpoint} it needs a draw below 16 in 2^32 and does not happen for the default
 * seed; {@code max_endpoint = 1} makes every last 0.
 */
public final class IntervalTreeCheck {
  /** Kernel default of {@code nnodes}. */
  public static final int DEFAULT_NNODES = 100;

  /** Kernel default of {@code perf_loops} (current mainline; 100000 in the 2012 original). */
  public static final int DEFAULT_PERF_LOOPS = 1000;

  /** Kernel default of {@code nsearches}. */
  public static final int DEFAULT_NSEARCHES = 100;

  /** Kernel default of {@code search_loops} (current mainline; 10000 in the 2012 original). */
  public static final int DEFAULT_SEARCH_LOOPS = 1000;

  /** Kernel default of {@code max_endpoint}: {@code ~0u}, an unsigned 32-bit value. */
  public static final int DEFAULT_MAX_ENDPOINT = 0xFFFF_FFFF;

  /**
   * Passes of the module's loops that {@link #main} runs on a separate tree before timing, so that
   * the JIT has compiled the tree code: the kernel module's own figures are of compiled code.
   */
  public static final int DEFAULT_WARMUP_PASSES = 10;

  /** Kernel default of {@code seed}. */
  public static final long DEFAULT_SEED = 3141592653589793238L;

  /**
   * A bare tree node, the kernel's {@code struct interval_tree_node}, plus its index in the node
   * array (the kernel computes it as {@code node - nodes}; the int fits in the object's alignment
   * padding).
   */
  public static final class Node extends IntervalTree.Node {
    final int index;

    Node(int index) {
      this.index = index;
    }

    void set(long start, long last) {
      setInterval(start, last);
    }
  }

  private final int nnodes;
  private final int nsearches;
  private final boolean searchAll;
  private final int maxEndpoint;
  private final long seed;
  private final Lfsr113 rnd;
  private final Node[] nodes;
  private final long[] queries;
  private final IntervalTree<Node> root = new IntervalTree<>();

  /**
   * Allocates the nodes and queries and seeds the generator, like the module's init.
   *
   * @param nnodes number of nodes
   * @param nsearches number of stabbing queries per search round
   * @param searchAll whether every query is {@code [0, max_endpoint]} instead of a point
   * @param maxEndpoint unsigned 32-bit bound of the endpoints (exclusive, as a modulus)
   * @param seed generator seed
   */
  public IntervalTreeCheck(
      int nnodes, int nsearches, boolean searchAll, int maxEndpoint, long seed) {
    if (nnodes < 0 || nsearches < 0) {
      throw new IllegalArgumentException("negative nnodes or nsearches");
    }
    this.nnodes = nnodes;
    this.nsearches = nsearches;
    this.searchAll = searchAll;
    this.maxEndpoint = maxEndpoint;
    this.seed = seed;
    this.rnd = Lfsr113.seeded(seed);
    this.nodes = new Node[nnodes];
    for (int i = 0; i < nnodes; i++) {
      nodes[i] = new Node(i);
    }
    this.queries = new long[nsearches];
  }

  /** Returns a new check with the same parameters and a freshly seeded generator. */
  IntervalTreeCheck copy() {
    return new IntervalTreeCheck(nnodes, nsearches, searchAll, maxEndpoint, seed);
  }

  /** Creates the check with every kernel default. */
  public static IntervalTreeCheck withDefaults() {
    return new IntervalTreeCheck(
        DEFAULT_NNODES, DEFAULT_NSEARCHES, false, DEFAULT_MAX_ENDPOINT, DEFAULT_SEED);
  }

  /**
   * The module's {@code init()}: draws every node as {@code last = (rand >> 4) % max_endpoint},
   * {@code start = (rand >> 4) % last}, then every query point as {@code (rand >> 4) %
   * max_endpoint}. The tree must be empty.
   *
   * @throws ArithmeticException where the kernel would divide by zero
   */
  public void init() {
    if (!root.isEmpty()) {
      throw new IllegalStateException("init with nodes in the tree");
    }
    for (int i = 0; i < nnodes; i++) {
      int last = Integer.remainderUnsigned(rnd.nextInt() >>> 4, maxEndpoint);
      int start = Integer.remainderUnsigned(rnd.nextInt() >>> 4, last);
      nodes[i].set(Integer.toUnsignedLong(start), Integer.toUnsignedLong(last));
    }
    for (int j = 0; j < nsearches; j++) {
      queries[j] =
          Integer.toUnsignedLong(Integer.remainderUnsigned(rnd.nextInt() >>> 4, maxEndpoint));
    }
  }

  /** Inserts every node, in index order. */
  public void insertAll() {
    for (Node n : nodes) {
      root.insert(n);
    }
  }

  /** Removes every node, in index order. */
  public void removeAll() {
    for (Node n : nodes) {
      root.remove(n);
    }
  }

  /** One round of {@code basic_check}: insert all nodes, then remove all. */
  public void basicRound() {
    insertAll();
    removeAll();
  }

  /** Counts the nodes intersecting {@code [start, last]} with first/next, like {@code search()}. */
  public long search(long start, long last) {
    long results = 0;
    for (Node n = root.iterFirst(start, last); n != null; n = root.iterNext(n, start, last)) {
      results++;
    }
    return results;
  }

  /**
   * One round of {@code search_check}: every query, counting its hits; the tree must hold the
   * nodes.
   *
   * @return the hits of the round (the kernel's "results" per loop)
   */
  public long searchRound() {
    long results = 0;
    long maxLast = Integer.toUnsignedLong(maxEndpoint);
    for (int j = 0; j < nsearches; j++) {
      long start = searchAll ? 0 : queries[j];
      long last = searchAll ? maxLast : queries[j];
      results += search(start, last);
    }
    return results;
  }

  /**
   * The descent alone: {@code iter_first} of every query, without walking the further hits. Its
   * cost is the tree's own share of a search, which grows as log N whatever the output size.
   *
   * @return how many queries have at least one hit
   */
  public long firstRound() {
    long found = 0;
    long maxLast = Integer.toUnsignedLong(maxEndpoint);
    for (int j = 0; j < nsearches; j++) {
      long start = searchAll ? 0 : queries[j];
      long last = searchAll ? maxLast : queries[j];
      if (root.iterFirst(start, last) != null) {
        found++;
      }
    }
    return found;
  }

  /** Counts the hits of one search round by scanning every node: the reference for tests. */
  public long bruteForceSearchRound() {
    long results = 0;
    long maxLast = Integer.toUnsignedLong(maxEndpoint);
    for (int j = 0; j < nsearches; j++) {
      long start = searchAll ? 0 : queries[j];
      long last = searchAll ? maxLast : queries[j];
      for (Node n : nodes) {
        if (n.start() <= last && start <= n.last()) {
          results++;
        }
      }
    }
    return results;
  }

  /**
   * One round of {@code intersection_range_check}: re-init, insert all, then {@code nsearches}
   * range queries (the first over everything, then {@code last = (rand >> 4) % max_endpoint},
   * {@code start = (rand >> 4) % last}), each comparing the iterator's hit set with a scan; remove
   * all.
   *
   * @return the number of queries whose hit sets differed (the kernel warns on each)
   */
  public int intersectionRound() {
    init();
    insertAll();
    int mismatches = 0;
    BitSet expected = new BitSet(nnodes);
    BitSet actual = new BitSet(nnodes);
    for (int k = 0; k < nsearches; k++) {
      long start;
      long last;
      if (k == 0) {
        start = 0;
        last = -1L;
      } else {
        int l = Integer.remainderUnsigned(rnd.nextInt() >>> 4, maxEndpoint);
        start = Integer.toUnsignedLong(Integer.remainderUnsigned(rnd.nextInt() >>> 4, l));
        last = Integer.toUnsignedLong(l);
      }
      expected.clear();
      for (int j = 0; j < nnodes; j++) {
        Node n = nodes[j];
        if (Long.compareUnsigned(start, n.last()) <= 0
            && Long.compareUnsigned(last, n.start()) >= 0) {
          expected.set(j);
        }
      }
      actual.clear();
      for (Node n = root.iterFirst(start, last); n != null; n = root.iterNext(n, start, last)) {
        actual.set(n.index);
      }
      if (!expected.equals(actual)) {
        mismatches++;
      }
    }
    removeAll();
    return mismatches;
  }

  /** Returns the tree, for tests and footprint measurements. */
  public IntervalTree<Node> tree() {
    return root;
  }

  /** Returns node {@code i}. */
  public Node node(int i) {
    return nodes[i];
  }

  /** Returns query point {@code j}. */
  public long query(int j) {
    return queries[j];
  }

  /**
   * Runs the module like the kernel does: seed, {@code basic_check}, {@code search_check}, {@code
   * intersection_range_check}, printing times per loop in nanoseconds.
   *
   * <p>Flags as in the kernel's userspace harness: {@code -n nnodes}, {@code -p perf_loops}, {@code
   * -q nsearches}, {@code -s search_loops}, {@code -a} (search_all), {@code -m max_endpoint},
   * {@code -r seed}; and ours, {@code -w passes}: how many passes of the same loops run first on a
   * separate tree with the same parameters (default {@value #DEFAULT_WARMUP_PASSES}), so that the
   * timed loops run compiled code like the kernel's; {@code -w 0} times a cold JVM, JIT compilation
   * included. The timed tree draws the kernel's numbers either way. {@link IntervalTreeBenchmark}
   * is the measurement.
   *
   * @param args the flags
   */
  public static void main(String[] args) {
    int nnodes = DEFAULT_NNODES;
    int perfLoops = DEFAULT_PERF_LOOPS;
    int nsearches = DEFAULT_NSEARCHES;
    int searchLoops = DEFAULT_SEARCH_LOOPS;
    boolean searchAll = false;
    int maxEndpoint = DEFAULT_MAX_ENDPOINT;
    long seed = DEFAULT_SEED;
    int warmupPasses = DEFAULT_WARMUP_PASSES;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "-n" -> nnodes = Integer.parseInt(args[++i]);
        case "-p" -> perfLoops = Integer.parseInt(args[++i]);
        case "-q" -> nsearches = Integer.parseInt(args[++i]);
        case "-s" -> searchLoops = Integer.parseInt(args[++i]);
        case "-a" -> searchAll = true;
        case "-m" -> maxEndpoint = Integer.parseUnsignedInt(args[++i]);
        case "-r" -> seed = Long.parseUnsignedLong(args[++i]);
        case "-w" -> warmupPasses = Integer.parseInt(args[++i]);
        default -> {
          System.err.println(
              "usage: IntervalTreeCheck [-n nnodes] [-p perf_loops] [-q nsearches]"
                  + " [-s search_loops] [-a] [-m max_endpoint] [-r seed] [-w warmup_passes]");
          System.exit(2);
        }
      }
    }
    if (warmupPasses < 0) {
      System.err.println("IntervalTreeCheck: -w takes a count of 0 or more, not " + warmupPasses);
      System.exit(2);
    }
    warmUp(
        warmupPasses,
        new IntervalTreeCheck(nnodes, nsearches, searchAll, maxEndpoint, seed),
        perfLoops,
        searchLoops,
        System.out);
    IntervalTreeCheck check =
        new IntervalTreeCheck(nnodes, nsearches, searchAll, maxEndpoint, seed);
    check.runModule(perfLoops, searchLoops, System.out);
  }

  /**
   * Runs {@code passes} passes of the module's loops on copies of {@code like} (same parameters,
   * fresh generator), saying so on {@code out} first; {@code like} itself is left untouched.
   */
  static void warmUp(
      int passes, IntervalTreeCheck like, int perfLoops, int searchLoops, PrintStream out) {
    if (passes == 0) {
      out.println("no warm-up (-w 0): the times include JIT compilation");
      return;
    }
    out.printf(
        "warm-up: %d passes of the same loops on a separate tree before timing (-w 0 to time a"
            + " cold JVM)%n",
        passes);
    PrintStream discard = new PrintStream(OutputStream.nullOutputStream());
    for (int p = 0; p < passes; p++) {
      like.copy().runModule(perfLoops, searchLoops, discard);
    }
  }

  /** The module's init sequence with the given loop counts, printing to {@code out}. */
  void runModule(int perfLoops, int searchLoops, PrintStream out) {
    out.print("interval tree insert/remove");
    init();
    long t1 = System.nanoTime();
    for (int i = 0; i < perfLoops; i++) {
      basicRound();
    }
    long t2 = System.nanoTime();
    out.printf(" -> %d ns%n", (t2 - t1) / Math.max(1, perfLoops));

    out.print("interval tree search");
    init();
    insertAll();
    long results = 0;
    t1 = System.nanoTime();
    for (int i = 0; i < searchLoops; i++) {
      results += searchRound();
    }
    t2 = System.nanoTime();
    out.printf(
        " -> %d ns (%d results)%n",
        (t2 - t1) / Math.max(1, searchLoops), results / Math.max(1, searchLoops));
    removeAll();

    out.println("interval tree iteration");
    int mismatches = 0;
    for (int i = 0; i < searchLoops; i++) {
      mismatches += intersectionRound();
    }
    if (mismatches != 0) {
      out.printf("WARNING: %d iterator results differed from the scan%n", mismatches);
    }
  }
}
