package io.mmulab.core;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * An augmented red-black interval tree with a cached leftmost node, following the semantics of the
 * Linux kernel's generic interval tree (docs/notifier.md, "Interval tree").
 *
 * <p>Members embed their tree linkage by extending {@link Node}, so the tree never allocates. Each
 * node holds an inclusive interval {@code [start, last]} of <em>unsigned</em> 64-bit values. Nodes
 * are ordered by {@code start}; a node whose start equals existing starts is placed to their right,
 * so the in-order sequence is ascending by start with ties in insertion order. Rotations and
 * removal relink nodes rather than move payloads, so that order is stable.
 *
 * <p>Augmentation: every node also caches {@code subtreeLast}, the maximum {@code last} in its
 * subtree. Insertion raises it along the descent path; rotations hand the rotated subtree's value
 * to the new subtree root and recompute the demoted node; removal recomputes upwards from the
 * lowest changed node. Queries use it to skip subtrees that end before the query starts.
 *
 * <p>Not thread-safe: callers provide locking.
 *
 * @param <N> the member type
 */
public final class IntervalTree<N extends IntervalTree.Node> {

  /**
   * Base class of every tree member: the member object embeds its node, like the kernel embeds
   * {@code struct interval_tree_node}.
   */
  public abstract static class Node {
    private long start;
    private long last;
    private long subtreeLast;
    private @Nullable Node left;
    private @Nullable Node right;
    private @Nullable Node parent;
    private boolean red;
    private boolean inTree;

    /** Creates a node with interval {@code [0, 0]} that is not in any tree. */
    protected Node() {}

    /** Returns the inclusive start of the interval, an unsigned 64-bit value. */
    public final long start() {
      return start;
    }

    /** Returns the inclusive end of the interval, an unsigned 64-bit value. */
    public final long last() {
      return last;
    }

    /** Returns whether this node is currently linked into a tree. */
    public final boolean inTree() {
      return inTree;
    }

    /**
     * Sets the bounds of the interval; allowed only while the node is not in a tree.
     *
     * @param start inclusive start, unsigned
     * @param last inclusive end, unsigned
     * @throws IllegalStateException if the node is in a tree
     * @throws IllegalArgumentException if {@code start > last} (unsigned)
     */
    protected final void setInterval(long start, long last) {
      if (inTree) {
        throw new IllegalStateException("cannot change the interval of a node that is in a tree");
      }
      if (Long.compareUnsigned(start, last) > 0) {
        throw new IllegalArgumentException(
            "start 0x"
                + Long.toHexString(start)
                + " is above last 0x"
                + Long.toHexString(last)
                + " (unsigned)");
      }
      this.start = start;
      this.last = last;
    }
  }

  /** Deepest recursion {@link #checkInvariants} accepts; a valid tree is never this high. */
  private static final int MAX_CHECK_DEPTH = 130;

  private @Nullable Node root;
  private @Nullable Node leftmost;
  private int size;

  /** Creates an empty tree. */
  public IntervalTree() {}

  /**
   * Inserts {@code node} in O(log n). A node whose start equals existing starts goes after them.
   *
   * @throws IllegalStateException if the node is already in a tree
   */
  public void insert(N node) {
    // Private fields are not reachable through the type variable, hence the widened local.
    final Node n = Objects.requireNonNull(node, "node");
    if (n.inTree) {
      throw new IllegalStateException("node is already in a tree");
    }
    final long start = n.start;
    final long last = n.last;
    Node parent = null;
    Node cur = root;
    boolean goLeft = false;
    boolean isLeftmost = true;
    while (cur != null) {
      parent = cur;
      if (Long.compareUnsigned(cur.subtreeLast, last) < 0) {
        cur.subtreeLast = last;
      }
      if (Long.compareUnsigned(start, cur.start) < 0) {
        cur = cur.left;
        goLeft = true;
      } else {
        cur = cur.right;
        goLeft = false;
        isLeftmost = false;
      }
    }
    n.parent = parent;
    n.left = null;
    n.right = null;
    n.red = true;
    n.subtreeLast = last;
    n.inTree = true;
    if (parent == null) {
      root = n;
    } else if (goLeft) {
      parent.left = n;
    } else {
      parent.right = n;
    }
    if (isLeftmost) {
      leftmost = n;
    }
    size++;
    insertFixup(n);
  }

  /**
   * Removes {@code node} in O(log n). The node must be in this tree; membership in another tree is
   * not detected and corrupts both trees.
   *
   * @throws IllegalStateException if the node is not in a tree
   */
  public void remove(N node) {
    final Node n = Objects.requireNonNull(node, "node");
    if (!n.inTree) {
      throw new IllegalStateException("node is not in a tree");
    }
    if (n == leftmost) {
      leftmost = successor(n);
    }

    // The node is replaced by relinking (never by copying payloads) so embedded members stay put.
    @Nullable Node child;
    @Nullable Node childParent;
    boolean removedBlack;
    if (n.left == null || n.right == null) {
      child = n.left != null ? n.left : n.right;
      childParent = n.parent;
      removedBlack = !n.red;
      replaceChild(n, child);
      if (child != null) {
        child.parent = childParent;
      }
      propagate(childParent, null);
    } else {
      Node succ = n.right;
      while (succ.left != null) {
        succ = succ.left;
      }
      removedBlack = !succ.red;
      child = succ.right;
      if (succ.parent == n) {
        childParent = succ;
      } else {
        childParent = Objects.requireNonNull(succ.parent, "successor below n has a parent");
        childParent.left = child;
        if (child != null) {
          child.parent = childParent;
        }
        succ.right = n.right;
        succ.right.parent = succ;
      }
      replaceChild(n, succ);
      succ.parent = n.parent;
      succ.left = n.left;
      succ.left.parent = succ;
      succ.red = n.red;
      // succ now roots n's old subtree minus n: start from n's value and let the propagation
      // fix it and the nodes above it.
      succ.subtreeLast = n.subtreeLast;
      propagate(childParent, succ);
      propagate(succ, null);
    }
    n.parent = null;
    n.left = null;
    n.right = null;
    n.red = false;
    n.inTree = false;
    size--;

    if (removedBlack) {
      eraseFixup(child, childParent);
    }
  }

  /**
   * Returns the leftmost (smallest start) node intersecting {@code [queryStart, queryLast]}, or
   * {@code null}. Bounds are inclusive and unsigned; a node intersects if {@code start <= queryLast
   * && queryStart <= last}. O(log n); O(1) when the root's subtree ends before the query or the
   * leftmost node starts after it.
   */
  public @Nullable N iterFirst(long queryStart, long queryLast) {
    Node r = root;
    if (r == null
        || Long.compareUnsigned(r.subtreeLast, queryStart) < 0
        || Long.compareUnsigned(Objects.requireNonNull(leftmost).start, queryLast) > 0) {
      return null;
    }
    return subtreeSearch(r, queryStart, queryLast);
  }

  /**
   * Returns the next node after {@code node}, in ascending-start order, that intersects {@code
   * [queryStart, queryLast]}, or {@code null}. {@code node} must be in this tree and is normally
   * the previous result of {@link #iterFirst} or {@code iterNext} for the same query.
   *
   * @throws IllegalStateException if {@code node} is not in a tree
   */
  public @Nullable N iterNext(N node, long queryStart, long queryLast) {
    Node cur = node;
    if (!cur.inTree) {
      throw new IllegalStateException("node is not in a tree");
    }
    Node right = cur.right;
    while (true) {
      // Invariant: cur.start <= queryLast and everything up to cur has been reported or skipped.
      if (right != null && Long.compareUnsigned(queryStart, right.subtreeLast) <= 0) {
        return subtreeSearch(right, queryStart, queryLast);
      }
      // Climb until we arrive from a left child: that ancestor is the in-order successor.
      Node from;
      do {
        from = cur;
        cur = cur.parent;
        if (cur == null) {
          return null;
        }
      } while (from == cur.right);
      if (Long.compareUnsigned(cur.start, queryLast) > 0) {
        return null;
      }
      if (Long.compareUnsigned(queryStart, cur.last) <= 0) {
        return cast(cur);
      }
      right = cur.right;
    }
  }

  /** Returns the number of nodes in the tree. */
  public int size() {
    return size;
  }

  /** Returns whether the tree has no nodes. */
  public boolean isEmpty() {
    return size == 0;
  }

  /** Returns the node with the smallest start (the first inserted among equals), or null. O(1). */
  public @Nullable N leftmost() {
    return cast(leftmost);
  }

  /**
   * Test and debug support: verifies BST order (unsigned, ties allowed), the red-black rules (black
   * root, no red node with a red child, equal black height on every path), parent links, that every
   * node's {@code subtreeLast} is the maximum {@code last} of its subtree, the cached leftmost and
   * the size. O(n).
   *
   * @throws IllegalStateException describing the first broken rule
   */
  public void checkInvariants() {
    if (root == null) {
      if (size != 0 || leftmost != null) {
        throw new IllegalStateException(
            "empty tree but size=" + size + ", leftmost=" + describe(leftmost));
      }
      return;
    }
    if (root.parent != null) {
      throw new IllegalStateException("root " + describe(root) + " has a parent");
    }
    if (root.red) {
      throw new IllegalStateException("root " + describe(root) + " is red");
    }
    Checker checker = new Checker();
    checker.check(root, 0);
    if (checker.count != size) {
      throw new IllegalStateException("size is " + size + " but the tree has " + checker.count);
    }
    if (checker.first != leftmost) {
      throw new IllegalStateException(
          "cached leftmost is "
              + describe(leftmost)
              + " but the first node in order is "
              + describe(checker.first));
    }
  }

  /** In-order walk state for {@link #checkInvariants}. */
  private static final class Checker {
    long count;
    @Nullable Node first;
    @Nullable Node previous;

    /** Checks the subtree at {@code n} and returns its black height. */
    int check(Node n, int depth) {
      if (depth > MAX_CHECK_DEPTH) {
        throw new IllegalStateException("tree deeper than " + MAX_CHECK_DEPTH + " (cycle?)");
      }
      if (!n.inTree) {
        throw new IllegalStateException(describe(n) + " is linked but not marked in tree");
      }
      if (Long.compareUnsigned(n.start, n.last) > 0) {
        throw new IllegalStateException(describe(n) + " has start above last");
      }
      long max = n.last;
      int leftHeight = 0;
      if (n.left != null) {
        checkChild(n, n.left);
        leftHeight = check(n.left, depth + 1);
        max = maxUnsigned(max, n.left.subtreeLast);
      }
      visit(n);
      int rightHeight = 0;
      if (n.right != null) {
        checkChild(n, n.right);
        rightHeight = check(n.right, depth + 1);
        max = maxUnsigned(max, n.right.subtreeLast);
      }
      if (leftHeight != rightHeight) {
        throw new IllegalStateException(
            describe(n)
                + " has black height "
                + leftHeight
                + " on the left but "
                + rightHeight
                + " on the right");
      }
      if (n.subtreeLast != max) {
        throw new IllegalStateException(
            describe(n)
                + " has subtreeLast 0x"
                + Long.toHexString(n.subtreeLast)
                + " but the maximum last in its subtree is 0x"
                + Long.toHexString(max));
      }
      return leftHeight + (n.red ? 0 : 1);
    }

    private void checkChild(Node n, Node child) {
      if (child.parent != n) {
        throw new IllegalStateException(
            "child "
                + describe(child)
                + " of "
                + describe(n)
                + " has parent "
                + describe(child.parent));
      }
      if (n.red && child.red) {
        throw new IllegalStateException("red " + describe(n) + " has red child " + describe(child));
      }
    }

    private void visit(Node n) {
      if (previous == null) {
        first = n;
      } else if (Long.compareUnsigned(previous.start, n.start) > 0) {
        throw new IllegalStateException(
            "order broken: " + describe(previous) + " precedes " + describe(n));
      }
      previous = n;
      count++;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  @SuppressWarnings("unchecked")
  private @Nullable N cast(@Nullable Node n) {
    return (N) n;
  }

  private static long maxUnsigned(long a, long b) {
    return Long.compareUnsigned(a, b) >= 0 ? a : b;
  }

  private static long computeSubtreeLast(Node n) {
    long max = n.last;
    if (n.left != null) {
      max = maxUnsigned(max, n.left.subtreeLast);
    }
    if (n.right != null) {
      max = maxUnsigned(max, n.right.subtreeLast);
    }
    return max;
  }

  /**
   * Recomputes {@code subtreeLast} from {@code n} upwards until {@code stop} (exclusive) or the
   * root. Stops early once a value is unchanged: the subtree lost only nodes whose removal did not
   * lower its maximum, so nothing above it changes either.
   */
  private static void propagate(@Nullable Node n, @Nullable Node stop) {
    while (n != null && n != stop) {
      long value = computeSubtreeLast(n);
      if (n.subtreeLast == value) {
        break;
      }
      n.subtreeLast = value;
      n = n.parent;
    }
  }

  private static @Nullable Node successor(Node n) {
    if (n.right != null) {
      Node s = n.right;
      while (s.left != null) {
        s = s.left;
      }
      return s;
    }
    Node from = n;
    Node p = n.parent;
    while (p != null && from == p.right) {
      from = p;
      p = p.parent;
    }
    return p;
  }

  /**
   * Returns the leftmost node of the subtree at {@code n} that intersects the query, or null.
   * Requires {@code queryStart <= n.subtreeLast}.
   */
  private @Nullable N subtreeSearch(Node n, long queryStart, long queryLast) {
    while (true) {
      Node left = n.left;
      if (left != null && Long.compareUnsigned(queryStart, left.subtreeLast) <= 0) {
        // Some node on the left ends at or after queryStart, and it precedes n in order.
        n = left;
        continue;
      }
      if (Long.compareUnsigned(n.start, queryLast) > 0) {
        return null;
      }
      if (Long.compareUnsigned(queryStart, n.last) <= 0) {
        return cast(n);
      }
      Node right = n.right;
      if (right == null || Long.compareUnsigned(queryStart, right.subtreeLast) > 0) {
        return null;
      }
      n = right;
    }
  }

  /** Makes {@code replacement} take {@code old}'s place under {@code old.parent}. */
  private void replaceChild(Node old, @Nullable Node replacement) {
    Node p = old.parent;
    if (p == null) {
      root = replacement;
    } else if (p.left == old) {
      p.left = replacement;
    } else {
      p.right = replacement;
    }
  }

  private void rotateLeft(Node x) {
    Node y = Objects.requireNonNull(x.right, "rotateLeft needs a right child");
    x.right = y.left;
    if (y.left != null) {
      y.left.parent = x;
    }
    y.parent = x.parent;
    replaceChild(x, y);
    y.left = x;
    x.parent = y;
    // The rotated subtree holds the same nodes, so its new root inherits the old root's value.
    y.subtreeLast = x.subtreeLast;
    x.subtreeLast = computeSubtreeLast(x);
  }

  private void rotateRight(Node x) {
    Node y = Objects.requireNonNull(x.left, "rotateRight needs a left child");
    x.left = y.right;
    if (y.right != null) {
      y.right.parent = x;
    }
    y.parent = x.parent;
    replaceChild(x, y);
    y.right = x;
    x.parent = y;
    y.subtreeLast = x.subtreeLast;
    x.subtreeLast = computeSubtreeLast(x);
  }

  private static boolean isRed(@Nullable Node n) {
    return n != null && n.red;
  }

  // A red parent is never the root, so it has a parent: the grandparent below exists.
  @SuppressWarnings("NullAway")
  private void insertFixup(Node n) {
    while (true) {
      Node p = n.parent;
      if (p == null) {
        n.red = false;
        return;
      }
      if (!p.red) {
        return;
      }
      Node g = p.parent; // non-null: a red parent is never the root
      if (p == g.left) {
        Node uncle = g.right;
        if (isRed(uncle)) {
          p.red = false;
          uncle.red = false;
          g.red = true;
          n = g;
          continue;
        }
        if (n == p.right) {
          rotateLeft(p);
          p = n;
        }
        p.red = false;
        g.red = true;
        rotateRight(g);
      } else {
        Node uncle = g.left;
        if (isRed(uncle)) {
          p.red = false;
          uncle.red = false;
          g.red = true;
          n = g;
          continue;
        }
        if (n == p.left) {
          rotateRight(p);
          p = n;
        }
        p.red = false;
        g.red = true;
        rotateLeft(g);
      }
      return;
    }
  }

  /**
   * Restores the red-black rules after a black node was unlinked. {@code n} (possibly null) is the
   * subtree that is one black short, {@code parent} its parent.
   */
  // The red-black rules guarantee the nodes a fixup step touches (a red parent has a parent, a
  // one-black-short subtree has a sibling, ...); NullAway cannot see through them.
  @SuppressWarnings("NullAway")
  private void eraseFixup(@Nullable Node n, @Nullable Node parent) {
    while (parent != null && !isRed(n)) {
      if (n == parent.left) {
        Node sibling = parent.right; // non-null: it carries the missing black height
        if (sibling.red) {
          sibling.red = false;
          parent.red = true;
          rotateLeft(parent);
          sibling = parent.right;
        }
        if (!isRed(sibling.left) && !isRed(sibling.right)) {
          sibling.red = true;
          n = parent;
          parent = n.parent;
          continue;
        }
        if (!isRed(sibling.right)) {
          sibling.left.red = false;
          sibling.red = true;
          rotateRight(sibling);
          sibling = parent.right;
        }
        sibling.red = parent.red;
        parent.red = false;
        sibling.right.red = false;
        rotateLeft(parent);
      } else {
        Node sibling = parent.left;
        if (sibling.red) {
          sibling.red = false;
          parent.red = true;
          rotateRight(parent);
          sibling = parent.left;
        }
        if (!isRed(sibling.left) && !isRed(sibling.right)) {
          sibling.red = true;
          n = parent;
          parent = n.parent;
          continue;
        }
        if (!isRed(sibling.left)) {
          sibling.right.red = false;
          sibling.red = true;
          rotateLeft(sibling);
          sibling = parent.left;
        }
        sibling.red = parent.red;
        parent.red = false;
        sibling.left.red = false;
        rotateRight(parent);
      }
      return;
    }
    if (n != null) {
      n.red = false;
    }
  }

  private static String describe(@Nullable Node n) {
    if (n == null) {
      return "null";
    }
    return (n.red ? "red" : "black")
        + " node [0x"
        + Long.toHexString(n.start)
        + ", 0x"
        + Long.toHexString(n.last)
        + "]";
  }
}
