package io.mmulab.driver.vhost;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * One vhost device bound to the VMM process (after {@code VHOST_SET_OWNER}): one virtqueue and the
 * worker's two ways to its metadata — the slow path, a copy through the CPU page table ({@code
 * copy_from_user} / {@code copy_to_user} under the VMM's mm), and the fast path through a published
 * map, which {@link VhostAccel} provides.
 */
final class VhostDevice {
  final String id;
  final SyncRuntime rt;
  final AddressSpace mm;
  final VhostHw hw;
  final DriverStats stats = new DriverStats();
  final VhostVirtqueue vq;
  final AtomicLong fastAccesses = new AtomicLong();
  final AtomicLong slowAccesses = new AtomicLong();
  final AtomicLong dirtiedPages = new AtomicLong();

  VhostDevice(String id, SyncRuntime rt, AddressSpace mm, VhostHw hw) {
    this.id = id;
    this.rt = rt;
    this.mm = mm;
    this.hw = hw;
    this.vq = new VhostVirtqueue(rt, id);
  }

  String subscriptionName(VhostRing r) {
    return "vq0." + r.name().toLowerCase(Locale.ROOT);
  }

  /** Kernel {@code vhost_set_map_dirty}: the worker wrote the used ring behind the PTEs' back. */
  void setMapDirty(VhostMap map) {
    if (map.ring.writable()) {
      dirtiedPages.addAndGet(map.pages());
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
    slowAccesses.incrementAndGet();
    requireUser();
    try {
      return hw.copyFromUser(va);
    } finally {
      mm.mmput();
    }
  }

  void write(VhostAccel accel, long va, long value) throws ErrnoException {
    VhostRing r = vq.ringOf(va);
    if (r != null && r.writable() && fast(accel, r, va, true, value, null)) {
      return;
    }
    slowAccesses.incrementAndGet();
    requireUser();
    try {
      hw.copyToUser(va, value);
    } finally {
      mm.mmput();
    }
  }

  private void requireUser() throws ErrnoException {
    if (!mm.mmgetNotZero()) {
      throw new ErrnoException(Errno.EFAULT, id + ": the VMM's mm is gone");
    }
  }

  private boolean fast(
      VhostAccel accel, VhostRing r, long va, boolean write, long value, long @Nullable [] out) {
    if (vq.map(r) == null) {
      accel.prefetch(r); // as the worker does before it processes the ring
    }
    if (!accel.access(r, va, write, value, out)) {
      return false;
    }
    fastAccesses.incrementAndGet();
    return true;
  }
}
