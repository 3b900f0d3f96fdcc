package io.mmulab.driver.vhost;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.mm.Vma;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * One vhost device of the VMM process, driven through the SPI's verbs, each run as one item of work
 * by the device's worker thread ({@link VhostWorker}): {@code read} and {@code write} are the
 * worker's metadata accesses (through the ring's map when one is published, else copied through the
 * CPU page table), {@code prefetch} is the worker's prefetch of every ring in the range, and {@code
 * submit} runs an access at once. {@link #setVringAddr} is the VMM's {@code VHOST_SET_VRING_ADDR}.
 *
 * <p>The device starts with the rings over the process's first mapping of {@code n >= 2} pages (the
 * used ring on its first {@code n / 2} pages, the descriptor table and the avail ring splitting the
 * rest), as a VMM sets them right after it becomes the owner; if there is none yet, the first verb
 * places them over the mapping it touches. {@link #setVringAddr} moves them.
 */
public final class VhostAdapter extends SimDriverAdapter {
  private final DriverVariant variant;
  private final SimProcess process;
  private final VhostDevice dev;
  private final VhostAccel accel;
  private final VhostWorker worker;
  private final AtomicBoolean tornDown = new AtomicBoolean();

  VhostAdapter(DriverVariant variant, String id, SimProcess process, SimMachine machine)
      throws ErrnoException {
    super(VhostFactory.NAME);
    this.variant = variant;
    this.process = process;
    this.dev =
        new VhostDevice(
            id, machine.runtime(), process.addressSpace(), new VhostSimHw(id, process, machine));
    this.accel =
        switch (variant) {
          case LEGACY -> new VhostLegacy(dev);
          case CONSOLIDATED -> new VhostConsolidated(dev);
          case AS_MERGED -> throw new IllegalArgumentException("vhost has no " + variant);
        };
    this.worker = new VhostWorker(machine.runtime(), id, dev.vq.mutex);
    dev.vq.mutex.lock();
    try {
      placeRings(null); // the VMM's SET_VRING_ADDR right after it set the owner
    } finally {
      dev.vq.mutex.unlock();
    }
  }

  @Override
  public DriverVariant variant() {
    return variant;
  }

  @Override
  protected DriverStats stats() {
    return dev.stats;
  }

  /**
   * {@code VHOST_SET_VRING_ADDR}: moves the three rings, on the caller's thread (the VMM's ioctl),
   * holding the virtqueue mutex: it waits for the worker's current item of work.
   *
   * @param desc the descriptor table
   * @param avail the avail ring
   * @param used the used ring
   * @throws ErrnoException {@code EINVAL} if two rings overlap or the device is torn down; as the
   *     variant's re-subscription fails
   */
  public void setVringAddr(VhostUaddr desc, VhostUaddr avail, VhostUaddr used)
      throws ErrnoException {
    requireOpen(tornDown.get(), dev.id);
    if (desc.overlaps(avail.start(), avail.end())
        || desc.overlaps(used.start(), used.end())
        || avail.overlaps(used.start(), used.end())) {
      throw new ErrnoException(
          Errno.EINVAL, "rings overlap: desc " + desc + ", avail " + avail + ", used " + used);
    }
    dev.vq.mutex.lock();
    try {
      accel.setVringAddr(desc, avail, used);
    } finally {
      dev.vq.mutex.unlock();
    }
  }

  /**
   * Returns where a ring is, or null before the rings are placed.
   *
   * @param ring the ring
   * @return its address range, or null
   */
  public VhostUaddr ringAddress(VhostRing ring) {
    return dev.vq.uaddr(ring);
  }

  /**
   * Returns how many worker accesses went through a published map so far.
   *
   * @return the fast-path accesses
   */
  public long fastPathAccesses() {
    return dev.fastAccesses.get();
  }

  /**
   * Returns how many worker accesses were copied through the CPU page table so far.
   *
   * @return the slow-path accesses
   */
  public long slowPathAccesses() {
    return dev.slowAccesses.get();
  }

  /**
   * Returns how many used-ring pages invalidations and unmaps marked dirty so far.
   *
   * @return the pages dirtied
   */
  public long dirtiedPages() {
    return dev.dirtiedPages.get();
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    requireOpen(tornDown.get(), dev.id);
    long[] out = new long[words];
    worker.run(
        () -> {
          placeRings(va);
          for (int i = 0; i < words; i++) {
            out[i] = dev.read(accel, va + 8L * i);
          }
        });
    return out;
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    checkWrite(va, data);
    requireOpen(tornDown.get(), dev.id);
    worker.run(
        () -> {
          placeRings(va);
          for (int i = 0; i < data.length; i++) {
            dev.write(accel, va + 8L * i, data[i]);
          }
        });
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    checkPrefetch(va, length);
    requireOpen(tornDown.get(), dev.id);
    worker.run(
        () -> {
          placeRings(va);
          for (VhostRing r : VhostRing.values()) {
            VhostUaddr u = dev.vq.uaddr(r);
            if (u != null && u.overlaps(va, va + length) && (r.writable() || !write)) {
              accel.prefetch(r);
            }
          }
        });
  }

  /** A job is one kick of the worker: done when this returns, its error carried by the fence. */
  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    ErrnoException error = null;
    try {
      if (data != null) {
        write(va, data);
      } else {
        read(va, words);
      }
    } catch (ErrnoException e) {
      error = e;
    }
    return completed(error);
  }

  /**
   * Until the VMM configured the queue: the rings over the first mapping of two pages or more
   * ({@code va} null, at creation), else over the one holding {@code va}, if it has two pages.
   */
  private void placeRings(@Nullable Long va) throws ErrnoException {
    if (dev.vq.configured()) {
      return;
    }
    for (Vma vma : process.vmas()) {
      long pages = (vma.end() - vma.start()) >>> AddressSpace.PAGE_SHIFT;
      boolean holds =
          va == null
              || (Long.compareUnsigned(vma.start(), va) <= 0
                  && Long.compareUnsigned(va, vma.end()) < 0);
      if (holds && pages >= 2) {
        long usedEnd = vma.start() + (pages / 2) * AddressSpace.PAGE_SIZE;
        long split = usedEnd + ((vma.end() - usedEnd) / 2 & -8L);
        accel.setVringAddr(
            new VhostUaddr(usedEnd, split),
            new VhostUaddr(split, vma.end()),
            new VhostUaddr(vma.start(), usedEnd));
        return;
      }
    }
  }

  @Override
  public void teardown() {
    if (!tornDown.compareAndSet(false, true)) {
      return;
    }
    worker.stop();
    accel.teardown();
    dev.hw.tornDown();
  }

  /** The virtqueue, for tests that hold its locks. */
  VhostVirtqueue virtqueue() {
    return dev.vq;
  }

  /** The legacy count, for the imbalance tests; -1 for the consolidated variant, which has none. */
  int legacyInvalidateCount() {
    return accel instanceof VhostLegacy l ? l.invalidateCount() : -1;
  }

  @Override
  public String toString() {
    return dev.id + "/" + variant;
  }
}
