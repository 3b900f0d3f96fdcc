package io.mmulab.sim.mm;

import static io.mmulab.sim.mm.Mman.MAP_ANONYMOUS;
import static io.mmulab.sim.mm.Mman.MAP_PRIVATE;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static io.mmulab.sim.mm.Mman.PROT_WRITE;
import static org.assertj.core.api.Assertions.tuple;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.atLeast;
import static org.mockito.Mockito.clearInvocations;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuIntervalNotifierOps;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.Mutex;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.List;
import org.assertj.core.groups.Tuple;
import org.mockito.ArgumentCaptor;

/** A machine with one process, and Mockito recorders at the notifier seam. */
final class MmFixture {
  static final long PAGE = SimMm.PAGE_SIZE;
  static final long HPAGE = SimMm.HPAGE_SIZE;
  static final int RW = PROT_READ | PROT_WRITE;
  static final int ANON_PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS;

  final SyncRuntime rt;
  final CoherencyChecker checker = new CoherencyChecker();
  final PhysicalMemory memory;
  final SimMachine machine;
  final SimProcess proc;

  MmFixture() {
    this(RealSyncRuntime.get(), 8192);
  }

  MmFixture(SyncRuntime rt, int frames) {
    this.rt = rt;
    this.memory = new PhysicalMemory(rt, frames, checker);
    this.machine = new SimMachine(rt, memory);
    this.proc = machine.spawnProcess("p");
  }

  /** Maps {@code pages} of private anonymous read-write memory. */
  long anon(int pages) throws ErrnoException {
    return proc.mmap(0, pages * PAGE, RW, ANON_PRIVATE);
  }

  /** Maps and writes {@code pages} pages of private anonymous memory (value = page index + 1). */
  long populated(int pages) throws ErrnoException {
    long a = anon(pages);
    for (int i = 0; i < pages; i++) {
      proc.store(a + i * PAGE, i + 1);
    }
    return a;
  }

  /** A recorder subscribed to the whole address space of {@code p}. */
  static Recorder record(SimProcess p) throws ErrnoException {
    MmuIntervalNotifierOps ops = mock(MmuIntervalNotifierOps.class);
    when(ops.invalidate(any(), any(), anyLong())).thenReturn(true);
    return new Recorder(ops, p.mm().insertIntervalNotifier(0, -1L, ops));
  }

  /**
   * A recorder that behaves like a collision-retry driver: under its update lock (a try-lock for a
   * non-blockable range) it calls {@code setSeq}, so {@code checkRetry} sees every invalidation.
   */
  static Recorder recordWithSeq(SimProcess p) throws ErrnoException {
    MmuIntervalNotifierOps ops = mock(MmuIntervalNotifierOps.class);
    Mutex lock = p.machine().runtime().newMutex(p.mm().name() + ".recorder");
    when(ops.invalidate(any(), any(), anyLong()))
        .thenAnswer(
            inv -> {
              MmuIntervalNotifier sub = inv.getArgument(0);
              MmuNotifierRange range = inv.getArgument(1);
              if (range.blockable()) {
                lock.lock();
              } else if (!lock.tryLock()) {
                return false;
              }
              try {
                sub.setSeq(inv.getArgument(2));
              } finally {
                lock.unlock();
              }
              return true;
            });
    return new Recorder(ops, p.mm().insertIntervalNotifier(0, -1L, ops, lock));
  }

  /** A Mockito mock of the driver side of one subscription, with its subscription. */
  record Recorder(MmuIntervalNotifierOps ops, MmuIntervalNotifier sub) {
    /** Every range delivered so far, in order. */
    List<MmuNotifierRange> ranges() {
      ArgumentCaptor<MmuNotifierRange> c = ArgumentCaptor.forClass(MmuNotifierRange.class);
      verify(ops, atLeast(0)).invalidate(any(), c.capture(), anyLong());
      return c.getAllValues();
    }

    /** The ranges as (event, start, end, blockable, owner) tuples. */
    List<Tuple> events() {
      return ranges().stream()
          .map(r -> tuple(r.event(), r.start(), r.end(), r.blockable(), r.owner()))
          .toList();
    }

    void clear() {
      clearInvocations(ops);
    }
  }

  /** An expected blockable range without owner. */
  static Tuple ev(MmuNotifierEvent event, long start, long end) {
    return tuple(event, start, end, true, null);
  }

  /** An expected blockable range with an owner. */
  static Tuple ev(MmuNotifierEvent event, long start, long end, Object owner) {
    return tuple(event, start, end, true, owner);
  }

  /**
   * One {@code hmmRangeFault} of {@code [a, a + bytes)} of {@code p} in the mainline layout with
   * {@code defaultFlags}, under the mmap lock, through a subscription made for it.
   */
  static long[] hmmSnapshot(SimProcess p, long a, long bytes, long defaultFlags)
      throws ErrnoException {
    Recorder r = recordWithSeq(p);
    HmmRange range =
        new HmmRange(
            r.sub(),
            r.sub().readBegin(),
            a,
            a + bytes,
            new long[(int) (bytes / PAGE)],
            defaultFlags,
            0,
            null,
            HmmPfnLayout.MAINLINE);
    p.mm().mmapLock().downRead();
    try {
      p.mm().hmmRangeFault(range);
    } finally {
      p.mm().mmapLock().upRead();
      r.sub().remove();
    }
    return range.hmmPfns();
  }

  /** The frame behind {@code va}. */
  long pfn(long va) {
    return proc.pte(va).pfn();
  }
}
