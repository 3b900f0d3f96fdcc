package io.mmulab.driver.scif;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.driver.JobFence;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.sim.dev.DmaFence;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.driver.SimDriverAdapter;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import io.mmulab.sim.scif.ScifPeerWindow;
import io.mmulab.sim.scif.SimScif;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * One SCIF endpoint connected to a peer, opened by a process: its card (channel and peer window),
 * its window cache (the variant's) and the cleanup worker. The verbs are RMA copies with {@code
 * SCIF_RMA_USECACHE} between the process's memory and a slice of the peer window:
 *
 * <ul>
 *   <li>{@code read}: {@code scif_vwriteto} with {@code SCIF_RMA_SYNC} (the card reads user
 *       memory), then the words the peer received;
 *   <li>{@code write}: the words put in the peer window, then {@code scif_vreadfrom} with {@code
 *       SCIF_RMA_SYNC} (the card writes user memory);
 *   <li>{@code submit}: the same copy without {@code SCIF_RMA_SYNC}; its fence is signalled by the
 *       completion interrupt of the copy's last descriptor;
 *   <li>{@code prefetch}: registers (caches) the window without copying.
 * </ul>
 *
 * <p>Teardown (endpoint release): close the cache (windows queued for the worker), let the worker
 * drain the channel and destroy every window, remove what still subscribes the cache, shut the card
 * down.
 */
final class ScifEndpoint extends SimDriverAdapter {
  private final DriverVariant variant;
  private final SyncRuntime rt;
  private final SimScif card;
  private final DriverStats stats = new DriverStats();
  private final ScifRmaCache cache;
  private final ScifCleanupWorker worker;
  private final AtomicBoolean tornDown = new AtomicBoolean();
  private final AtomicLong peerNext = new AtomicLong();
  private final AtomicLong jobs = new AtomicLong();

  ScifEndpoint(DriverVariant variant, SimProcess process, SimMachine machine) {
    super(ScifFactory.NAME);
    this.variant = variant;
    this.rt = machine.runtime();
    this.card = new SimScif(machine);
    String id = card.deviceId();
    AddressSpace mm = process.addressSpace();
    ScifRma hw =
        new ScifSimRma(card, mm, machine.memory(), machine.checker(), stats, this::kickWorker);
    this.cache =
        switch (variant) {
          case LEGACY -> new ScifLegacyCache(rt, mm, id, hw, stats);
          case CONSOLIDATED -> new ScifConsolidatedCache(rt, mm, id, hw, stats);
          case AS_MERGED -> throw new IllegalArgumentException("scif has no " + variant);
        };
    this.worker = new ScifCleanupWorker(rt, id, cache);
  }

  private void kickWorker() {
    worker.kick();
  }

  @Override
  protected DriverStats stats() {
    return stats;
  }

  @Override
  public DriverVariant variant() {
    return variant;
  }

  @Override
  public long[] read(long va, int words) throws ErrnoException {
    checkWords(va, words);
    long off = peerSlot(words);
    cache.copy(va, words, off, true, null, true);
    ScifPeerWindow peer = card.peer();
    long[] out = new long[words];
    for (int i = 0; i < words; i++) {
      out[i] = peer.read(off + i);
    }
    return out;
  }

  @Override
  public void write(long va, long[] data) throws ErrnoException {
    checkWrite(va, data);
    cache.copy(va, data.length, toPeer(data), false, null, true);
  }

  @Override
  public void prefetch(long va, long length, boolean write) throws ErrnoException {
    checkPrefetch(va, length);
    cache.prefetch(va, va + length, write);
  }

  @Override
  public JobFence submit(long va, int words, long @Nullable [] data) throws ErrnoException {
    checkJob(va, words, data);
    long off = data == null ? peerSlot(words) : toPeer(data);
    DmaFence done = new DmaFence(rt, card.deviceId() + ".rma", jobs.incrementAndGet());
    cache.copy(va, words, off, data == null, done::signal, false);
    return fence(done);
  }

  /** Puts {@code data} in a fresh slice of the peer window; returns its offset. */
  private long toPeer(long[] data) {
    long off = peerSlot(data.length);
    for (int i = 0; i < data.length; i++) {
      card.peer().write(off + i, data[i]);
    }
    return off;
  }

  /**
   * A slice of {@code words} of the peer window, handed out in turn and reused from the start once
   * the window is used up: at most a channel's depth of copies is in flight, far fewer words than
   * the window holds.
   */
  private long peerSlot(int words) {
    int capacity = card.peer().capacity();
    if (words > capacity) {
      throw new IllegalArgumentException(words + " words: more than the peer window's " + capacity);
    }
    while (true) {
      long old = peerNext.get();
      long base = old + words > capacity ? 0 : old;
      if (peerNext.compareAndSet(old, base + words)) {
        return base;
      }
    }
  }

  @Override
  public void teardown() {
    if (!tornDown.compareAndSet(false, true)) {
      return;
    }
    cache.close();
    worker.stop(); // drains the channel and destroys every window first
    cache.unsubscribe();
    card.shutdown();
  }

  @Override
  public String toString() {
    return card.deviceId() + " (" + variant + ")";
  }
}
