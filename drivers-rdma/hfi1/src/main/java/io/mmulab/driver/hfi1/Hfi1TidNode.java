package io.mmulab.driver.hfi1;

import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.sync.Mutex;
import org.jspecify.annotations.Nullable;

/**
 * {@code tid_rb_node}: one programmed TID, the page it maps and the pinned frame. Each variant says
 * which lock guards {@link #freed}; {@link #notifier} is written once, before the node is published
 * in the context's TID table.
 */
final class Hfi1TidNode extends Hfi1MmuRb.Node {
  final int tid;
  final long pfn;

  /** The checker's name of the node's notifier (the variants with one per TID). */
  final String name;

  /** The consolidated variant's {@code invalidate_mutex}, null in the others. */
  final @Nullable Mutex invalidateMutex;

  /** The node's own interval notifier (as merged and consolidated). */
  @Nullable MmuIntervalNotifier notifier;

  /** An invalidation reached the node (legacy, as merged) or unprogrammed it (consolidated). */
  boolean freed;

  Hfi1TidNode(int tid, long va, long pfn, String name, @Nullable Mutex invalidateMutex) {
    super(va);
    this.tid = tid;
    this.pfn = pfn;
    this.name = name;
    this.invalidateMutex = invalidateMutex;
  }

  @Override
  public String toString() {
    return name + "(0x" + Long.toHexString(addr) + "->pfn " + pfn + ")";
  }
}
