package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.doAnswer;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.sim.mem.FrameState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MadviseTest {
  private final MmFixture f = new MmFixture();

  @Test
  void dontneed_clearsTheRangeAndFreesFramesAfterTheCallback() throws ErrnoException {
    long a = f.populated(4);
    long pfn = f.pfn(a + PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    List<FrameState> inside = new ArrayList<>();
    doAnswer(
            inv -> {
              inside.add(f.memory.state(pfn));
              assertThat(f.pfn(a + PAGE)).isEqualTo(pfn);
              return true;
            })
        .when(rec.ops())
        .invalidate(any(), any(), anyLong());

    f.proc.madvise(a + PAGE, 2 * PAGE, Madvise.DONTNEED);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a + PAGE, a + 3 * PAGE));
    assertThat(inside).containsExactly(FrameState.ALLOCATED);
    assertThat(f.memory.state(pfn)).isEqualTo(FrameState.FREED);
    assertThat(f.proc.load(a + PAGE)).as("refaults as zeros").isZero();
    assertThat(f.proc.load(a)).isEqualTo(1);
    assertThat(f.proc.vmas()).hasSize(1);
    f.checker.assertClean();
  }

  @Test
  void dontneed_onAFileMapping_keepsTheDataInThePageCache() throws ErrnoException {
    SimFile file = f.machine.createFile("data", 2);
    long a = f.proc.mmap(0, 2 * PAGE, RW, MAP_SHARED, file, 0);
    f.proc.store(a, 77);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.madvise(a, 2 * PAGE, Madvise.DONTNEED);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + 2 * PAGE));
    assertThat(f.proc.load(a)).isEqualTo(77);
    assertThat(file.readLong(0)).isEqualTo(77);
  }

  @Test
  void dontneed_perVmaPart_oneClearEach() throws ErrnoException {
    long a = f.populated(4);
    f.proc.mprotect(a + 2 * PAGE, 2 * PAGE, Mman.PROT_READ);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.madvise(a + PAGE, 2 * PAGE, Madvise.DONTNEED);

    assertThat(rec.events())
        .containsExactly(ev(CLEAR, a + PAGE, a + 2 * PAGE), ev(CLEAR, a + 2 * PAGE, a + 3 * PAGE));
  }

  @Test
  void free_clearsAndMarksPagesLazyfree_reclaimDiscardsCleanOnes() throws ErrnoException {
    long a = f.populated(2);
    long pfn0 = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.madvise(a, 2 * PAGE, Madvise.FREE);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + 2 * PAGE));
    assertThat(f.proc.pte(a).dirty()).isFalse();
    assertThat(f.pfn(a)).as("still mapped").isEqualTo(pfn0);
    f.proc.store(a + PAGE, 99); // written again: must survive
    rec.clear();

    assertThat(f.proc.reclaim(a, a + 2 * PAGE)).isEqualTo(2);

    assertThat(f.memory.state(pfn0)).isEqualTo(FrameState.FREED);
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.NONE);
    assertThat(f.proc.pte(a + PAGE).type()).isEqualTo(PteView.Type.SWAP);
    assertThat(f.proc.load(a)).as("discarded").isZero();
    assertThat(f.proc.load(a + PAGE)).isEqualTo(99);
    f.checker.assertClean();
  }

  @Test
  void free_dropsSwapEntries() throws ErrnoException {
    long a = f.populated(1);
    f.proc.reclaim(a, a + PAGE);
    assertThat(f.machine.swapSlotsInUse()).isEqualTo(1);

    f.proc.madvise(a, PAGE, Madvise.FREE);

    assertThat(f.machine.swapSlotsInUse()).isZero();
    assertThat(f.proc.load(a)).isZero();
  }

  @Test
  void free_onAFileMapping_isEinval() throws ErrnoException {
    SimFile file = f.machine.createFile("data", 1);
    long a = f.proc.mmap(0, PAGE, RW, Mman.MAP_PRIVATE, file, 0);

    assertThatThrownBy(() -> f.proc.madvise(a, PAGE, Madvise.FREE))
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(Errno.EINVAL);
  }

  @Test
  void madvise_overAGap_doesTheMappedPartThenReportsEnomem() throws ErrnoException {
    long a = f.populated(3);
    f.proc.munmap(a + PAGE, PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThatThrownBy(() -> f.proc.madvise(a, 3 * PAGE, Madvise.DONTNEED))
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(Errno.ENOMEM);
    assertThat(rec.events())
        .containsExactly(ev(CLEAR, a, a + PAGE), ev(CLEAR, a + 2 * PAGE, a + 3 * PAGE));
  }
}
