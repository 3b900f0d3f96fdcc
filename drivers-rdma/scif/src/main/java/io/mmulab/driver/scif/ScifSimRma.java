package io.mmulab.driver.scif;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.scif.ScifDmaWindow;
import io.mmulab.sim.scif.SimScif;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/** {@link ScifRma} on the simulated card: GUP, the card's windows and channel, the checker. */
final class ScifSimRma implements ScifRma {
  private final SimScif card;
  private final AddressSpace mm;
  private final PhysicalMemory memory;
  private final CoherencyChecker checker;
  private final DriverStats stats;
  private final Runnable kick;

  ScifSimRma(
      SimScif card,
      AddressSpace mm,
      PhysicalMemory memory,
      CoherencyChecker checker,
      DriverStats stats,
      Runnable kick) {
    this.card = card;
    this.mm = mm;
    this.memory = memory;
    this.checker = checker;
    this.stats = stats;
    this.kick = kick;
  }

  @Override
  public long[] pin(long va, int pages, boolean write) throws ErrnoException {
    long[] pfns = new long[pages];
    int flags = Gup.FOLL_PIN | Gup.FOLL_LONGTERM | (write ? Gup.FOLL_WRITE : 0);
    int got;
    mm.mmapLock().downRead();
    try {
      got = mm.getUserPages(va, pages, flags, pfns);
    } finally {
      mm.mmapLock().upRead();
    }
    if (got < pages) {
      for (int i = 0; i < got; i++) {
        memory.unpin(pfns[i]);
      }
      throw new ErrnoException(
          Errno.EFAULT,
          card.deviceId()
              + ": pinned "
              + got
              + " of "
              + pages
              + " pages from 0x"
              + Long.toHexString(va));
    }
    stats.pinned(pages);
    return pfns;
  }

  @Override
  public void unpin(long[] pfns) {
    for (long pfn : pfns) {
      memory.unpin(pfn);
    }
    stats.unpinned(pfns.length);
  }

  @Override
  public void map(ScifWindow w) {
    w.dma = card.mapWindow(mm.name(), w.va, pinned(w), w.writable, w.subscription);
  }

  @Override
  public void destroy(ScifWindow w) {
    card.destroyWindow(mapped(w));
    stats.unpinned(w.nrPages());
  }

  @Override
  public long beginOperation() {
    return card.beginOperation();
  }

  @Override
  public void program(
      ScifWindow w,
      long operation,
      long va,
      int words,
      long peerOffset,
      boolean toPeer,
      @Nullable Runnable interrupt) {
    card.channel().copy(mapped(w), operation, va, words, peerOffset, toPeer, interrupt);
  }

  @Override
  public void drain() {
    card.channel().drain();
  }

  @Override
  public void scheduleCleanup() {
    kick.run();
  }

  @Override
  public void subscribed(String subscription, long start, long end) {
    checker.subscriptionInserted(card.deviceId(), subscription, mm.name(), start, end);
  }

  @Override
  public void unsubscribed(String subscription) {
    checker.subscriptionRemoved(card.deviceId(), subscription);
  }

  @Override
  public void callbackEntered(String subscription, long start, long end) {
    checker.invalidateCallbackEntered(card.deviceId(), subscription, mm.name(), start, end);
  }

  @Override
  public void callbackReturned(String subscription, long start, long end, long seq) {
    checker.invalidateCallbackReturned(card.deviceId(), subscription, mm.name(), start, end, seq);
  }

  private static long[] pinned(ScifWindow w) {
    return Objects.requireNonNull(w.pfns, "the window is pinned before it is mapped");
  }

  private static ScifDmaWindow mapped(ScifWindow w) {
    return Objects.requireNonNull(w.dma, "the window is mapped");
  }
}
