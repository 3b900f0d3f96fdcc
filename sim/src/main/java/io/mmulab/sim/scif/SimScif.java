package io.mmulab.sim.scif;

import io.mmulab.api.driver.CoherencyModel;
import io.mmulab.api.sync.SpinLock;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.driver.DeviceIds;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One endpoint's view of a SCIF card: a {@link ScifDmaChannel}, the {@link ScifPeerWindow} its
 * copies reach, and the temporary registered windows it DMA-maps. One checker device with the
 * {@link CoherencyModel#REGISTRATION_CACHE} model, named {@code scif<n>} (numbered per machine, so
 * a replayed run names it alike).
 *
 * <p>A window is reported to the checker page by page when mapped ({@code deviceMapped}, with the
 * subscription that protects it) and when destroyed ({@code deviceUnmapped}, unless a newer window
 * maps the page since). <b>Drain rule:</b> {@link #destroyWindow} unpins the pages only if no
 * descriptor of the channel refers to the window any more, and throws {@link IllegalStateException}
 * naming the rule otherwise, without changing anything: a driver must drain the channel before it
 * unpins a window's pages.
 *
 * <p>Locking: {@code <id>.windows} (spin lock) guards which window maps each page for the device; a
 * leaf, checker reports are made under it.
 */
public final class SimScif {
  /** Peer window size used by {@link #SimScif(SimMachine)}, in words. */
  public static final int DEFAULT_PEER_WORDS = 1 << 12;

  /** Channel queue depth used by {@link #SimScif(SimMachine)}, in descriptors. */
  public static final int DEFAULT_CHANNEL_DEPTH = 16;

  private final PhysicalMemory memory;
  private final CoherencyChecker checker;
  private final String deviceId;
  private final ScifPeerWindow peer;
  private final ScifDmaChannel channel;
  private final SpinLock windows;
  private final Map<Long, ScifDmaWindow> pageOwners = new HashMap<>(); // guarded by windows

  /**
   * A card with the default peer window and channel depth, its channel started.
   *
   * @param machine the machine whose memory the card reaches
   */
  public SimScif(SimMachine machine) {
    this(machine, DEFAULT_PEER_WORDS, DEFAULT_CHANNEL_DEPTH);
  }

  /**
   * A card, its channel started; {@link #shutdown()} it when done.
   *
   * @param machine the machine whose memory the card reaches
   * @param peerWords the peer window's size in words, at least 1
   * @param channelDepth descriptors the channel queues at most, at least 1
   */
  public SimScif(SimMachine machine, int peerWords, int channelDepth) {
    Objects.requireNonNull(machine, "machine is null");
    this.memory = machine.memory();
    this.checker = machine.checker();
    this.deviceId = DeviceIds.next(machine, "scif");
    checker.declareDevice(deviceId, CoherencyModel.REGISTRATION_CACHE);
    this.peer = new ScifPeerWindow(peerWords);
    this.channel =
        new ScifDmaChannel(
            machine.runtime(), memory, deviceId, deviceId + ".dma0", peer, channelDepth);
    this.windows = machine.runtime().newSpinLock(deviceId + ".windows");
    channel.start();
  }

  /**
   * Returns the checker's name of the card.
   *
   * @return {@code scif<n>}
   */
  public String deviceId() {
    return deviceId;
  }

  /**
   * Returns the DMA channel.
   *
   * @return the channel
   */
  public ScifDmaChannel channel() {
    return channel;
  }

  /**
   * Returns the peer window.
   *
   * @return the peer window
   */
  public ScifPeerWindow peer() {
    return peer;
  }

  /**
   * Begins a copy for the checker: accesses made with the token are judged as of now.
   *
   * @return the operation token for {@link ScifDmaChannel#copy}
   */
  public long beginOperation() {
    return checker.beginOperation(deviceId);
  }

  /**
   * DMA-maps pinned pages as a temporary window.
   *
   * @param mm the address space's name, as the checker knows it
   * @param va the first page, page-aligned
   * @param pfns the pinned frames of the pages from {@code va}, at least one; the window owns their
   *     pins from now on
   * @param writable whether the pages were pinned for write
   * @param subscription the checker's name of the subscription whose callback invalidates the
   *     window, or null for any of the device's
   * @return the window
   * @throws IllegalArgumentException if {@code va} is not page-aligned or {@code pfns} is empty
   */
  public ScifDmaWindow mapWindow(
      String mm, long va, long[] pfns, boolean writable, String subscription) {
    Objects.requireNonNull(mm, "mm is null");
    if ((va & (PhysicalMemory.PAGE_SIZE - 1)) != 0 || pfns.length == 0) {
      throw new IllegalArgumentException(
          "window of " + pfns.length + " pages at 0x" + Long.toHexString(va));
    }
    ScifDmaWindow w = new ScifDmaWindow(mm, va, pfns, writable, subscription);
    windows.lock();
    try {
      for (int i = 0; i < pfns.length; i++) {
        long page = va + ((long) i << PhysicalMemory.PAGE_SHIFT);
        pageOwners.put(page, w);
        checker.deviceMapped(deviceId, subscription, mm, page, pfns[i], writable);
      }
    } finally {
      windows.unlock();
    }
    return w;
  }

  /**
   * Destroys a window: unmaps it and unpins its pages, once.
   *
   * @param w a window of this card
   * @throws IllegalStateException if descriptors of the channel still refer to it (the drain rule:
   *     nothing is changed) or it was destroyed already
   */
  public void destroyWindow(ScifDmaWindow w) {
    int outstanding = channel.destroy(w);
    if (outstanding > 0) {
      throw new IllegalStateException(
          "drain rule broken: "
              + w
              + " unpinned with "
              + outstanding
              + " descriptor(s) still on "
              + channel.name()
              + " (drain the channel first)");
    }
    windows.lock();
    try {
      for (int i = 0; i < w.nrPages(); i++) {
        long page = w.va() + ((long) i << PhysicalMemory.PAGE_SHIFT);
        if (pageOwners.get(page) == w) {
          pageOwners.remove(page);
          checker.deviceUnmapped(deviceId, w.mm(), page);
        }
      }
    } finally {
      windows.unlock();
    }
    for (long pfn : w.pfns()) {
      memory.unpin(pfn);
    }
  }

  /** Completes the channel's descriptors, stops its engine and reports the card gone. */
  public void shutdown() {
    channel.shutdown();
    checker.deviceTornDown(deviceId);
  }

  @Override
  public String toString() {
    return "SimScif[" + deviceId + "]";
  }
}
