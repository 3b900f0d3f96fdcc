package io.mmulab.sim.nic;

import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.dev.DeviceMmu;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * An implicit on-demand-paging region: the whole address space, through child regions of {@link
 * #childSpan()} bytes each, created on demand by the driver ({@link #createChild}), usually from
 * the page-fault handler. The parent's table is a KSM table that points at each child's
 * translations; here the children write into the parent's {@link DeviceMmu} within their span, so
 * the checker sees the implicit region as one device whose entries each belong to a child's
 * notifier. An access where no child exists yet finds no entry: a page fault.
 *
 * <p>Locking: {@code ksmLock} (a leaf spin lock) guards the children.
 */
public final class NicImplicitMr implements NicMemoryRegion {
  private final SimNic nic;
  private final int key;
  private final boolean writable;
  private final long childSpan;
  private final DeviceMmu mmu;
  private final SpinLock ksmLock;
  private final TreeMap<Long, NicMr> children = new TreeMap<>(Long::compareUnsigned);

  NicImplicitMr(SimNic nic, int key, boolean writable, long childSpan, DeviceMmu mmu) {
    this.nic = nic;
    this.key = key;
    this.writable = writable;
    this.childSpan = childSpan;
    this.mmu = mmu;
    this.ksmLock = nic.runtime().newSpinLock(mmu.deviceId() + ".ksm");
  }

  @Override
  public int key() {
    return key;
  }

  @Override
  public long start() {
    return 0;
  }

  @Override
  public long end() {
    return MmuNotifierRange.ULONG_MAX;
  }

  @Override
  public boolean writable() {
    return writable;
  }

  @Override
  public DeviceMmu mmu() {
    return mmu;
  }

  /**
   * Returns the bytes each child covers (a power of two; children are aligned to it).
   *
   * @return the span
   */
  public long childSpan() {
    return childSpan;
  }

  /**
   * Returns the first address of the child span holding {@code va}.
   *
   * @param va any address
   * @return the span's start
   */
  public long childStart(long va) {
    return va & -childSpan;
  }

  /**
   * Returns the child covering {@code va}.
   *
   * @param va any address
   * @return the child, empty if none was created there
   */
  public Optional<NicMr> child(long va) {
    ksmLock.lock();
    try {
      return Optional.ofNullable(children.get(childStart(va)));
    } finally {
      ksmLock.unlock();
    }
  }

  /**
   * Returns the children, by address.
   *
   * @return a copy
   */
  public List<NicMr> children() {
    ksmLock.lock();
    try {
      return new ArrayList<>(children.values());
    } finally {
      ksmLock.unlock();
    }
  }

  /**
   * Creates the child covering {@code va} with an empty table and points the KSM entry at it.
   *
   * @param va any address of its span
   * @param subscription the checker's name of the child's notifier, or null
   * @return the child
   * @throws IllegalStateException if the span already has a child
   */
  public NicMr createChild(long va, String subscription) {
    long start = childStart(va);
    NicMr child =
        new NicMr(nic.nextKey(), start, start + childSpan, writable, mmu, this, subscription);
    ksmLock.lock();
    try {
      if (children.putIfAbsent(start, child) != null) {
        throw new IllegalStateException(
            "child span 0x" + Long.toHexString(start) + " of " + this + " already has a child");
      }
    } finally {
      ksmLock.unlock();
    }
    return child;
  }

  /**
   * Zaps a child's translations and removes it from the KSM table.
   *
   * @param child a child of this region
   * @throws IllegalArgumentException if it is not one of its current children
   */
  public void destroyChild(NicMr child) {
    ksmLock.lock();
    try {
      if (!children.remove(child.start(), child)) {
        throw new IllegalArgumentException(child + " is not a child of " + this);
      }
    } finally {
      ksmLock.unlock();
    }
    child.umrZap(child.start(), child.end());
  }

  @Override
  public String toString() {
    return "implicit mr " + key + " on " + mmu.deviceId();
  }
}
