package io.mmulab.driver.vhost;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.concurrent.atomic.LongAdder;

/**
 * One vhost device bound to the VMM process (after {@code VHOST_SET_OWNER}): one virtqueue and the
 * worker's two ways to its metadata — the slow path, a copy through the CPU page table ({@code
 * copy_from_user} / {@code copy_to_user} under the VMM's mm), and the fast path through a published
 * map, which {@link VhostAccel} provides.
 */
final class VhostDevice {
  final String id;
  final SyncRuntime rt;
  final SimProcess process;
  final AddressSpace mm;
  final String mmName;
  final CoherencyChecker checker;
  final PhysicalMemory memory;
  final DriverStats stats = new DriverStats();
  final VhostVirtqueue vq;
  final LongAdder fastAccesses = new LongAdder();
  final LongAdder slowAccesses = new LongAdder();
  final LongAdder dirtiedPages = new LongAdder();

  VhostDevice(String id, SimProcess process, SimMachine machine) {
    this.id = id;
    this.rt = machine.runtime();
    this.process = process;
    this.mm = process.addressSpace();
    this.mmName = mm.name();
    this.checker = machine.checker();
    this.memory = machine.memory();
    this.vq = new VhostVirtqueue(rt, id);
    checker.declareDevice(id, CoherencyModel.SHADOW_PTE);
  }

  String subscriptionName(VhostRing r) {
    return "vq0." + r.name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Kernel {@code vhost_set_map_dirty}: the worker wrote the used ring behind the PTEs' back. */
  void setMapDirty(VhostMap map) {
    if (map.ring.writable()) {
      dirtiedPages.add(map.pages());
    }
  }

  long read(VhostAccel accel, long va) throws ErrnoException {
    VhostRing r = vq.ringOf(va);
    if (r != null) {
      long[] out = new long[1];
      if (fast(accel, r, va, false, 0, out)) {
        return out[0];
      }
    }
    slowAccesses.increment();
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, id + ": the VMM's mm is gone");
    }
    try {
      return process.load(va);
    } finally {
      mm.mmput();
    }
  }

  void write(VhostAccel accel, long va, long value) throws ErrnoException {
    VhostRing r = vq.ringOf(va);
    if (r != null && r.writable() && fast(accel, r, va, true, value, null)) {
      return;
    }
    slowAccesses.increment();
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, id + ": the VMM's mm is gone");
    }
    try {
      process.store(va, value);
    } finally {
      mm.mmput();
    }
  }

  private boolean fast(
      VhostAccel accel, VhostRing r, long va, boolean write, long value, long[] out) {
    if (vq.map(r) == null) {
      accel.prefetch(r); // as the worker does before it processes the ring
    }
    if (!accel.access(r, va, write, value, out)) {
      return false;
    }
    fastAccesses.increment();
    return true;
  }
}
