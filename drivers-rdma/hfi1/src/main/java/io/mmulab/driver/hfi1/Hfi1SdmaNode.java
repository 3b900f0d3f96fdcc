package io.mmulab.driver.hfi1;

/**
 * {@code sdma_mmu_node}: one cached, pinned page of user send buffers. Guarded by the handler's
 * lock.
 */
final class Hfi1SdmaNode extends Hfi1MmuRb.Node {
  final long pfn;

  /** Descriptors in flight on the node. */
  int refs;

  /** The node is in the handler's tree (lookups find it). */
  boolean linked;

  /** Its pin was dropped. */
  boolean released;

  /** When a send last used it, for LRU eviction. */
  long lastUse;

  Hfi1SdmaNode(long addr, long pfn) {
    super(addr);
    this.pfn = pfn;
  }

  @Override
  public String toString() {
    return "sdma(0x" + Long.toHexString(addr) + "->pfn " + pfn + ", refs " + refs + ")";
  }
}
