package io.mmulab.bench;

import org.openjdk.jol.info.ClassLayout;
import org.openjdk.jol.info.GraphLayout;

/**
 * Benchmark 5, the measurement: retained bytes per interval subscription and per bare tree node,
 * from JOL's walk of the whole object graph, as (graph with {@code n} members − graph with none) /
 * {@code n}. Both graphs have the same roots, so fixed costs (the address space, its locks, the
 * drivers) cancel and what remains is what each member adds.
 */
public final class Footprint {
  private Footprint() {}

  /**
   * A measured difference.
   *
   * @param n members in the full graph
   * @param emptyBytes retained bytes with no member
   * @param fullBytes retained bytes with {@code n} members
   */
  public record Result(long n, long emptyBytes, long fullBytes) {
    /** Returns the retained bytes per member. */
    public double perMember() {
      return n == 0 ? 0 : (double) (fullBytes - emptyBytes) / n;
    }
  }

  /**
   * Measures an address space with {@code n} interval subscriptions (the dispatch layout) against
   * an empty one with the same drivers.
   */
  public static Result subscriptions(int n, int drivers, long seed) {
    return subscriptions(new DispatchShapes.Consolidated(DispatchLayout.create(n, drivers, seed)));
  }

  /** Measures {@code full} against a new empty address space with as many drivers. */
  static Result subscriptions(DispatchShapes.Consolidated full) {
    Object[] fullDrivers = full.drivers();
    DispatchShapes.Consolidated empty =
        new DispatchShapes.Consolidated(DispatchLayout.create(0, fullDrivers.length, 0));
    long emptyBytes = retained(empty.mm(), empty.drivers());
    long fullBytes = retained(full.mm(), fullDrivers);
    return new Result(
        full.mm().notifierSubscriptions().treeMembers().size(), emptyBytes, fullBytes);
  }

  /**
   * Measures an {@link io.mmulab.core.IntervalTree} of {@code n} bare nodes against an empty one.
   */
  public static Result treeNodes(int n) {
    IntervalTreeCheck check =
        new IntervalTreeCheck(
            n, 0, false, IntervalTreeCheck.DEFAULT_MAX_ENDPOINT, IntervalTreeCheck.DEFAULT_SEED);
    check.init();
    return treeNodes(check);
  }

  /** Measures the tree of {@code check} with its nodes in and out; leaves them out. */
  static Result treeNodes(IntervalTreeCheck check) {
    long emptyBytes = retained(check.tree());
    check.insertAll();
    long fullBytes = retained(check.tree());
    long n = check.tree().size();
    check.removeAll();
    return new Result(n, emptyBytes, fullBytes);
  }

  /** Returns the total size of everything reachable from {@code roots}. */
  static long retained(Object... roots) {
    return GraphLayout.parseInstance(roots).totalSize();
  }

  /** Returns the shallow size of one subscription object (the core's package-private class). */
  public static long subscriptionShallowSize() {
    return ClassLayout.parseClass(subscriptionClass()).instanceSize();
  }

  /** Returns the field layout of one subscription object, as JOL prints it. */
  public static String subscriptionLayout() {
    return ClassLayout.parseClass(subscriptionClass()).toPrintable();
  }

  /** Returns the shallow size of one bare tree node. */
  public static long treeNodeShallowSize() {
    return ClassLayout.parseClass(IntervalTreeCheck.Node.class).instanceSize();
  }

  private static Class<?> subscriptionClass() {
    try {
      return Class.forName("io.mmulab.core.IntervalSubscription");
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Prints both measurements at {@code n} (default 10^6) members.
   *
   * @param args optional: n
   */
  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    Result s = subscriptions(n, 8, DispatchLayout.DEFAULT_SEED);
    Result t = treeNodes(n);
    System.out.print(subscriptionLayout());
    System.out.printf(
        "retained bytes per subscription at n=%d: %.2f (shallow %d; target <= 96)%n",
        s.n(), s.perMember(), subscriptionShallowSize());
    System.out.printf(
        "retained bytes per tree node at n=%d: %.2f (shallow %d)%n",
        t.n(), t.perMember(), treeNodeShallowSize());
  }
}
