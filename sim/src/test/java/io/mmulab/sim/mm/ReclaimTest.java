package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_PRIVATE;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.doAnswer;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.sim.mem.FrameState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReclaimTest {
  private final MmFixture f = new MmFixture();

  @Test
  void anonymousPages_goToSwapInsideClearPerPage_andComeBackWithTheirData() throws ErrnoException {
    long a = f.populated(2);
    long pfn0 = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    List<String> inside = new ArrayList<>();
    doAnswer(
            inv -> {
              MmuNotifierRange r = inv.getArgument(1);
              PteView v = f.proc.pte(r.start());
              inside.add(v.type() + " " + f.memory.state(v.pfn()));
              return true;
            })
        .when(rec.ops())
        .invalidate(any(), any(), anyLong());

    assertThat(f.proc.reclaim(a, a + 2 * PAGE)).isEqualTo(2);

    assertThat(inside).containsExactly("PRESENT ALLOCATED", "PRESENT ALLOCATED");
    assertThat(rec.events())
        .containsExactly(ev(CLEAR, a, a + PAGE), ev(CLEAR, a + PAGE, a + 2 * PAGE));
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.SWAP);
    assertThat(f.memory.state(pfn0)).isEqualTo(FrameState.FREED);
    assertThat(f.machine.swapSlotsInUse()).isEqualTo(2);
    rec.clear();

    assertThat(f.proc.load(a)).isEqualTo(1);
    f.proc.store(a + PAGE, 20);

    assertThat(rec.events()).as("swap-in needs no invalidation").isEmpty();
    assertThat(f.proc.pte(a).writable()).isTrue();
    assertThat(f.proc.load(a + PAGE)).isEqualTo(20);
    assertThat(f.machine.swapSlotsInUse()).isZero();
    f.checker.assertClean();
  }

  @Test
  void aReferencedPage_staysInTheSwapCache_andIsMappedAgain() throws ErrnoException {
    long a = f.populated(1);
    long pfn = f.pfn(a);
    long[] pfns = new long[1];
    f.proc.mm().mmapLock().downRead();
    try {
      f.proc.mm().getUserPages(a, 1, 0, pfns);
    } finally {
      f.proc.mm().mmapLock().upRead();
    }

    assertThat(f.proc.reclaim(a, a + PAGE)).isEqualTo(1);

    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.SWAP);
    assertThat(f.memory.state(pfn)).isEqualTo(FrameState.ALLOCATED);
    assertThat(f.proc.load(a)).isEqualTo(1);
    assertThat(f.pfn(a)).as("the GUP'd frame is mapped again").isEqualTo(pfn);
    f.memory.put(pfn);
  }

  @Test
  void pinnedAndSharedAnonymousPages_areNotReclaimed() throws ErrnoException {
    long a = f.populated(2);
    long[] pfns = new long[1];
    f.proc.mm().mmapLock().downRead();
    try {
      f.proc.mm().getUserPages(a, 1, Gup.FOLL_PIN, pfns);
    } finally {
      f.proc.mm().mmapLock().upRead();
    }
    f.proc.fork();

    assertThat(f.proc.reclaim(a, a + 2 * PAGE)).isZero();
    f.memory.unpin(pfns[0]);
  }

  @Test
  void cleanFilePages_areDropped_andRefaultFromTheStore() throws ErrnoException {
    SimFile file = f.machine.createFile("f", 1);
    file.writeLong(0, 5);
    long a = f.proc.mmap(0, PAGE, Mman.PROT_READ, MAP_PRIVATE, file, 0);
    assertThat(f.proc.load(a)).isEqualTo(5);
    long cached = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.reclaim(a, a + PAGE)).isEqualTo(1);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + PAGE));
    assertThat(file.isCached(0)).isFalse();
    assertThat(f.memory.state(cached)).isEqualTo(FrameState.FREED);
    assertThat(f.proc.load(a)).isEqualTo(5);
  }

  @Test
  void dirtySharedFilePages_areWrittenBackThenDropped() throws ErrnoException {
    SimFile file = f.machine.createFile("f", 1);
    long a = f.proc.mmap(0, PAGE, RW, MAP_SHARED, file, 0);
    f.proc.store(a + 8, 6);

    assertThat(f.proc.reclaim(a, a + PAGE)).isEqualTo(1);

    assertThat(file.isCached(0)).isFalse();
    assertThat(file.readLong(8)).isEqualTo(6);
    assertThat(f.proc.load(a + 8)).isEqualTo(6);
  }
}
