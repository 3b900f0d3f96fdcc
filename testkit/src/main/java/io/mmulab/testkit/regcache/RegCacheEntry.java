package io.mmulab.testkit.regcache;

import io.mmulab.api.MmuIntervalNotifier;

/**
 * One cached registration: a page, its pinned frame, the entry's own interval notifier. Guarded by
 * the device's cache lock.
 */
final class RegCacheEntry {
  final long va;
  final long pfn;
  final boolean writable;
  final MmuIntervalNotifier notifier;

  /** Operations that began on this entry and have not finished. */
  int users;

  /** An invalidation reached the entry: no new operation may use it. */
  boolean invalid;

  /** Its translation, IOMMU mapping and pin are gone. */
  boolean released;

  RegCacheEntry(long va, long pfn, boolean writable, MmuIntervalNotifier notifier) {
    this.va = va;
    this.pfn = pfn;
    this.writable = writable;
    this.notifier = notifier;
  }

  /** The stem of the checker's names of the notifiers of the entries at {@code va}. */
  static String name(long va) {
    return "entry@0x" + Long.toHexString(va);
  }

  @Override
  public String toString() {
    return name(va) + "->pfn " + pfn + (writable ? " rw" : " ro");
  }
}
