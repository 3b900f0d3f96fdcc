package io.mmulab.sim.scif;

import io.mmulab.api.sync.SpinLock;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.api.sync.ThreadHandle;
import io.mmulab.api.sync.WaitQueue;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.sched.DeterministicRuntime;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * One DMA channel of the card: a bounded descriptor queue served in order by one engine thread.
 * Each descriptor copies words of one page between a temporary window's pinned frame and the peer
 * window; every access to the frame goes through {@link PhysicalMemory}'s device accessors with the
 * operation token of the copy, so the coherency checker judges it. Descriptors complete in
 * submission order; their cookies count up from 1.
 *
 * <ul>
 *   <li>{@link #copy} queues the descriptors of one copy (waiting for space, so never under a spin
 *       lock) and returns the cookie of the last one; its optional <em>completion interrupt</em>
 *       runs in the engine thread once that descriptor is done (the kernel's DMA callback); as in
 *       the kernel the cookie completes first, so {@link #waitFor} may return before it ran.
 *   <li>{@link #mark} is the cookie of the last descriptor queued (a fence); {@link #waitFor} waits
 *       until a cookie completed; {@link #drain} waits for everything queued before the call (the
 *       kernel's interrupt descriptor with the fence flag, then a wait for its completion).
 * </ul>
 *
 * <p>Locking: {@code lock} (spin lock {@code <name>.lock}) guards the queue, the stopping flag and
 * every window's {@code outstanding} count and {@code destroyed} flag; it is a leaf, never held
 * across a wait or an access. The head of the queue stays queued while the engine runs it, so a
 * window's count includes the descriptor in flight. The engine sleeps on {@code <name>.work} when
 * idle, so the owner must {@link #shutdown} the channel.
 */
public final class ScifDmaChannel {
  private record Descriptor(
      long cookie,
      ScifDmaWindow window,
      long operation,
      long va,
      long peerOffset,
      int words,
      boolean toPeer,
      @Nullable Runnable interrupt) {}

  private final SyncRuntime runtime;
  private final PhysicalMemory memory;
  private final String deviceId;
  private final String name;
  private final ScifPeerWindow peer;
  private final int capacity;
  private final SpinLock lock;
  private final WaitQueue work;
  private final WaitQueue irq;
  private final AtomicLong completed = new AtomicLong();

  // Guarded by lock.
  private final ArrayDeque<Descriptor> queue = new ArrayDeque<>();
  private long submitted;
  private boolean stopping;

  private @Nullable ThreadHandle engine;

  ScifDmaChannel(
      SyncRuntime runtime,
      PhysicalMemory memory,
      String deviceId,
      String name,
      ScifPeerWindow peer,
      int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("channel " + name + " of " + capacity + " descriptors");
    }
    this.runtime = runtime;
    this.memory = memory;
    this.deviceId = deviceId;
    this.name = name;
    this.peer = peer;
    this.capacity = capacity;
    this.lock = runtime.newSpinLock(name + ".lock");
    this.work = runtime.newWaitQueue(name + ".work");
    this.irq = runtime.newWaitQueue(name + ".irq");
  }

  void start() {
    engine = runtime.spawn(name + ".engine", this::engineLoop);
  }

  /**
   * Returns the channel's name.
   *
   * @return the name, also the prefix of its locks, wait queues and engine thread
   */
  public String name() {
    return name;
  }

  /**
   * Queues a copy of {@code words} words between the window's frames from {@code va} and the peer
   * window from {@code peerOffset}, one descriptor per page; waits while the queue is full.
   *
   * @param window a live window that covers the words
   * @param operation the checker's token of the copy ({@code SimScif.beginOperation})
   * @param va the first address, 8-byte aligned
   * @param words how many words, at least 1
   * @param peerOffset the first word of the peer window
   * @param toPeer true to copy from the window to the peer ({@code vwriteto}), false the other way
   *     ({@code vreadfrom}, which needs a writable window)
   * @param interrupt run by the engine once the copy's last descriptor completed, or null
   * @return the cookie of the copy's last descriptor
   * @throws IllegalArgumentException if the words are not all in the window and the peer window, or
   *     the copy writes through a read-only window
   * @throws IllegalStateException if the window was destroyed or the channel shut down
   */
  public long copy(
      ScifDmaWindow window,
      long operation,
      long va,
      int words,
      long peerOffset,
      boolean toPeer,
      @Nullable Runnable interrupt) {
    Objects.requireNonNull(window, "window is null");
    long end = va + (long) words * Long.BYTES;
    if ((va & (Long.BYTES - 1)) != 0
        || words < 1
        || Long.compareUnsigned(va, window.va()) < 0
        || Long.compareUnsigned(end, window.end()) > 0
        || peerOffset < 0
        || peerOffset + words > peer.capacity()) {
      throw new IllegalArgumentException(
          words
              + " words at 0x"
              + Long.toHexString(va)
              + ", peer offset "
              + peerOffset
              + ": not inside "
              + window
              + " and a peer window of "
              + peer.capacity()
              + " words");
    }
    if (!toPeer && !window.writable()) {
      throw new IllegalArgumentException("a copy to the host writes through read-only " + window);
    }
    long last = 0;
    int done = 0;
    while (done < words) {
      long addr = va + (long) done * Long.BYTES;
      int n =
          Math.min(words - done, (int) ((PhysicalMemory.PAGE_SIZE - (addr & 0xfff)) / Long.BYTES));
      boolean lastChunk = done + n == words;
      last =
          queue(
              window, operation, addr, peerOffset + done, n, toPeer, lastChunk ? interrupt : null);
      done += n;
    }
    return last;
  }

  private long queue(
      ScifDmaWindow window,
      long operation,
      long va,
      long peerOffset,
      int words,
      boolean toPeer,
      @Nullable Runnable interrupt) {
    while (true) {
      irq.waitEvent(this::hasSpace);
      lock.lock();
      try {
        if (stopping) {
          throw new IllegalStateException("channel " + name + " is shut down");
        }
        if (window.destroyed) {
          throw new IllegalStateException(
              "a descriptor for " + window + ", which was destroyed (unpinned)");
        }
        if (queue.size() < capacity) {
          long cookie = ++submitted;
          queue.addLast(
              new Descriptor(cookie, window, operation, va, peerOffset, words, toPeer, interrupt));
          window.outstanding++;
          work.wakeUpAll();
          return cookie;
        }
      } finally {
        lock.unlock();
      }
    }
  }

  private boolean hasSpace() {
    lock.lock();
    try {
      return stopping || queue.size() < capacity;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the cookie of the last descriptor queued: a fence that every earlier descriptor passes.
   *
   * @return the cookie, 0 if nothing was ever queued
   */
  public long mark() {
    lock.lock();
    try {
      return submitted;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits, without a timeout, until the descriptor {@code cookie} and every one before it
   * completed.
   *
   * @param cookie a cookie from {@link #copy} or {@link #mark}
   */
  public void waitFor(long cookie) {
    irq.waitEvent(() -> completed.get() >= cookie);
  }

  /** Waits until every descriptor queued before the call completed. */
  public void drain() {
    waitFor(mark());
  }

  /**
   * Returns the cookie of the last descriptor completed.
   *
   * @return the cookie, 0 if none
   */
  public long completed() {
    return completed.get();
  }

  /**
   * Returns how many descriptors for {@code window} are queued or running.
   *
   * @param window a window of this channel's device
   * @return the count
   */
  public int outstanding(ScifDmaWindow window) {
    lock.lock();
    try {
      return window.outstanding;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Marks {@code window} destroyed unless descriptors still refer to it.
   *
   * @return the number of outstanding descriptors; 0 means it is now destroyed
   * @throws IllegalStateException if it was destroyed already
   */
  int destroy(ScifDmaWindow window) {
    lock.lock();
    try {
      if (window.destroyed) {
        throw new IllegalStateException(window + " destroyed twice");
      }
      if (window.outstanding == 0) {
        window.destroyed = true;
      }
      return window.outstanding;
    } finally {
      lock.unlock();
    }
  }

  /** Completes every queued descriptor, then stops and joins the engine. Idempotent. */
  void shutdown() {
    lock.lock();
    try {
      stopping = true;
    } finally {
      lock.unlock();
    }
    work.wakeUpAll();
    irq.wakeUpAll();
    if (engine != null) {
      engine.join();
    }
  }

  private void engineLoop() {
    while (true) {
      work.waitEvent(this::busyOrStopping);
      Descriptor d;
      lock.lock();
      try {
        d = queue.peekFirst();
        if (d == null && stopping) {
          return;
        }
      } finally {
        lock.unlock();
      }
      if (d != null) {
        run(d);
        complete(d);
      }
    }
  }

  private boolean busyOrStopping() {
    lock.lock();
    try {
      return stopping || !queue.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  private void run(Descriptor d) {
    ScifDmaWindow w = d.window;
    long pfn = w.pfnAt(d.va);
    runtime.yieldPoint(
        name
            + " descriptor #"
            + d.cookie
            + ": DMA "
            + (d.toPeer ? "read" : "write")
            + " 0x"
            + Long.toHexString(d.va)
            + " -> pfn "
            + pfn);
    for (int k = 0; k < d.words; k++) {
      long addr = d.va + (long) k * Long.BYTES;
      if (d.toPeer) {
        peer.write(
            d.peerOffset + k, memory.deviceReadLong(deviceId, d.operation, w.mm(), addr, pfn));
      } else {
        memory.deviceWriteLong(
            deviceId, d.operation, w.mm(), addr, pfn, peer.read(d.peerOffset + k));
      }
    }
  }

  private void complete(Descriptor d) {
    int delay =
        runtime instanceof DeterministicRuntime det ? det.faults().dmaCompletionDelaySteps() : 0;
    for (int i = 0; i < delay; i++) {
      runtime.yieldPoint(name + " holds back completion of #" + d.cookie);
    }
    lock.lock();
    try {
      queue.pollFirst();
      d.window.outstanding--;
    } finally {
      lock.unlock();
    }
    completed.set(d.cookie);
    if (d.interrupt != null) {
      d.interrupt.run();
    }
    irq.wakeUpAll();
  }

  @Override
  public String toString() {
    return "ScifDmaChannel[" + name + "]";
  }
}
