package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.PROTECTION_VMA;
import static io.mmulab.api.MmuNotifierEvent.UNMAP;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.HPAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_FIXED;
import static io.mmulab.sim.mm.Mman.MAP_HUGE;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.sim.mem.FrameState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The mm operations the registration caches, RDMA ODP and the Xen grant device depend on, with the
 * kernel's events and ranges: an invalidation nested inside another on the same thread (a huge page
 * split inside a zap), a VMA split under a subscription, a remap of an address with fresh frames,
 * and a file mapped by a process other than the one that created it.
 */
class CacheDriverMmOpsTest {
  private final MmFixture f = new MmFixture();

  /** A classic notifier writing down every start and end, with the thread that ran it. */
  private static final class Log implements MmuNotifier {
    final List<String> events = new ArrayList<>();

    @Override
    public synchronized boolean invalidateRangeStart(MmuNotifierRange r) {
      events.add(line("start", r));
      return true;
    }

    @Override
    public synchronized void invalidateRangeEnd(MmuNotifierRange r) {
      events.add(line("end", r));
    }

    @Override
    public void release(AddressSpace mm) {}

    private static String line(String what, MmuNotifierRange r) {
      return what
          + " "
          + r.event()
          + " 0x"
          + Long.toHexString(r.start())
          + "-0x"
          + Long.toHexString(r.end())
          + " on "
          + Thread.currentThread().getName();
    }
  }

  @Test
  void hugePageSplitInsideAZap_runsAStartEndPairInsideTheOuterOne_onTheSameThread()
      throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, ANON_PRIVATE | MAP_HUGE);
    f.proc.store(a, 1);
    Log log = new Log();
    f.proc.mm().registerNotifier(log);
    String me = Thread.currentThread().getName();

    f.proc.madvise(a + PAGE, 2 * PAGE, Madvise.DONTNEED); // zap_page_range of part of the block

    String outer =
        " CLEAR 0x" + Long.toHexString(a + PAGE) + "-0x" + Long.toHexString(a + 3 * PAGE);
    String inner = " CLEAR 0x" + Long.toHexString(a) + "-0x" + Long.toHexString(a + HPAGE);
    assertThat(log.events)
        .containsExactly(
            "start" + outer + " on " + me,
            "start" + inner + " on " + me,
            "end" + inner + " on " + me,
            "end" + outer + " on " + me);
  }

  @Test
  void vmaSplit_underOneSubscription_reachesItForEachPartOnly_andItStaysSubscribed()
      throws ErrnoException {
    long a = f.populated(4);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.munmap(a + PAGE, PAGE); // the subscription now spans two VMAs and a hole
    f.proc.mprotect(a + 2 * PAGE, 2 * PAGE, PROT_READ);

    assertThat(rec.events())
        .containsExactly(
            ev(UNMAP, a + PAGE, a + 2 * PAGE), ev(PROTECTION_VMA, a + 2 * PAGE, a + 4 * PAGE));
    assertThat(f.proc.vmas())
        .as("[a, a+1) read-write, a hole, [a+2, a+4) read-only")
        .extracting(Vma::start, Vma::end)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(a, a + PAGE),
            org.assertj.core.groups.Tuple.tuple(a + 2 * PAGE, a + 4 * PAGE));
    assertThat(f.proc.load(a)).isEqualTo(1);
  }

  @Test
  void remap_munmapThenMapFixed_givesFreshZeroedFramesAtTheSameAddress() throws ErrnoException {
    long a = f.populated(2);
    long[] old = new long[2];
    GupHelper.pin(f.proc, a, old);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.munmap(a, 2 * PAGE);
    long b = f.proc.mmap(a, 2 * PAGE, RW, ANON_PRIVATE | MAP_FIXED);
    f.proc.store(b, 7);

    assertThat(b).isEqualTo(a);
    assertThat(rec.events())
        .as("the new mapping fires nothing")
        .containsExactly(ev(UNMAP, a, a + 2 * PAGE));
    assertThat(f.pfn(a)).as("a fresh frame").isNotEqualTo(old[0]);
    assertThat(f.proc.load(a + PAGE)).as("zeroed").isZero();
    assertThat(f.memory.state(old[0]))
        .as("the old frame lives on, pinned")
        .isNotEqualTo(FrameState.FREED);
    for (long pfn : old) {
      f.memory.unpin(pfn);
    }
    assertThat(f.memory.state(old[0])).isEqualTo(FrameState.FREED);
  }

  @Test
  void passedFile_mappedByAnotherProcess_sharesItsFrames_andInvalidatesInTheMappersAddressSpace()
      throws ErrnoException {
    SimFile file = f.machine.createFile("dev", 2);
    long mine = f.proc.mmap(0, 2 * PAGE, RW, MAP_SHARED, file, 0);
    f.proc.store(mine, 42);
    SimProcess other = f.machine.spawnProcess("receiver"); // got the fd passed over a socket
    long theirs = other.mmap(0, 2 * PAGE, RW, MAP_SHARED, file, 0);
    MmFixture.Recorder inOther = MmFixture.record(other);
    MmFixture.Recorder inOpener = MmFixture.record(f.proc);

    assertThat(other.load(theirs)).isEqualTo(42);
    assertThat(other.pte(theirs).pfn()).isEqualTo(f.pfn(mine));
    other.munmap(theirs, 2 * PAGE);

    assertThat(inOther.events()).containsExactly(ev(UNMAP, theirs, theirs + 2 * PAGE));
    assertThat(inOpener.events()).as("the opener's address space is not touched").isEmpty();
    assertThat(f.proc.load(mine)).isEqualTo(42);
  }

  /** Pins pages the way a registration cache does: long-term, for writing. */
  private static final class GupHelper {
    static void pin(SimProcess p, long va, long[] pfns) throws ErrnoException {
      p.mm().mmapLock().downRead();
      try {
        p.mm()
            .getUserPages(va, pfns.length, Gup.FOLL_PIN | Gup.FOLL_LONGTERM | Gup.FOLL_WRITE, pfns);
      } finally {
        p.mm().mmapLock().upRead();
      }
    }
  }
}
