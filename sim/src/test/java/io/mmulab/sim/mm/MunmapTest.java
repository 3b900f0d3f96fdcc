package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.UNMAP;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.doAnswer;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.sim.mem.FrameState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MunmapTest {
  private final MmFixture f = new MmFixture();

  /**
   * Data exposure: the VMAs are detached before the UNMAP; a callback that throws must not leave
   * their entries behind, or a load at the unmapped address, or a new mapping there, would read the
   * old contents.
   */
  @Test
  void munmapWithThrowingCallbackLeavesNoOldDataReachable() throws ErrnoException {
    long a = f.populated(2);
    f.proc.store(a, 0x5ec7e7L);
    long old = f.pfn(a);
    int framesBefore = f.memory.allocatedFrames();
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    Error boom = new Error("device error in the callback");
    doAnswer(
            inv -> {
              throw boom;
            })
        .when(rec.ops())
        .invalidate(any(), any(), anyLong());

    assertThatThrownBy(() -> f.proc.munmap(a, 2 * PAGE)).isSameAs(boom);

    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.NONE);
    assertThat(f.memory.state(old)).isEqualTo(FrameState.FREED);
    assertThat(f.memory.allocatedFrames()).isEqualTo(framesBefore - 2);
    assertThat(f.proc.mm().notifierSubscriptions().activeInvalidateRanges()).isZero();
    assertThatThrownBy(() -> f.proc.load(a))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT));
    doAnswer(inv -> true).when(rec.ops()).invalidate(any(), any(), anyLong());
    f.proc.mmap(a, PAGE, RW, ANON_PRIVATE | Mman.MAP_FIXED);
    assertThat(f.proc.load(a)).isZero();
    rec.sub().remove();
    f.checker.assertClean();
  }

  @Test
  void munmap_wholeVma_firesOneBlockableUnmapOfExactlyTheRange() throws ErrnoException {
    long a = f.populated(4);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.munmap(a, 4 * PAGE);

    assertThat(rec.events()).containsExactly(ev(UNMAP, a, a + 4 * PAGE));
    assertThat(f.proc.vmas()).isEmpty();
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.NONE);
    f.checker.assertClean();
  }

  @Test
  void munmap_framesFreedOnlyAfterTheCallbackReturned() throws ErrnoException {
    long a = f.populated(2);
    long pfn0 = f.pfn(a);
    long pfn1 = f.pfn(a + PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    List<String> seen = new ArrayList<>();
    doAnswer(
            inv -> {
              seen.add(
                  f.memory.state(pfn0)
                      + " "
                      + f.memory.state(pfn1)
                      + " "
                      + (f.pfn(a) == pfn0)
                      + " "
                      + (f.pfn(a + PAGE) == pfn1));
              return true;
            })
        .when(rec.ops())
        .invalidate(any(), any(), anyLong());

    f.proc.munmap(a, 2 * PAGE);

    assertThat(seen).containsExactly("ALLOCATED ALLOCATED true true");
    assertThat(f.memory.state(pfn0)).isEqualTo(FrameState.FREED);
    assertThat(f.memory.state(pfn1)).isEqualTo(FrameState.FREED);
    f.checker.assertClean();
  }

  @Test
  void munmap_partialInTheMiddle_splitsTheVmaInTwo() throws ErrnoException {
    long a = f.populated(8);
    long kept = f.pfn(a + 6 * PAGE);
    long gone = f.pfn(a + 3 * PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.munmap(a + 2 * PAGE, 3 * PAGE);

    assertThat(rec.events()).containsExactly(ev(UNMAP, a + 2 * PAGE, a + 5 * PAGE));
    assertThat(f.proc.vmas())
        .extracting(Vma::start, Vma::end)
        .containsExactly(tuple(a, a + 2 * PAGE), tuple(a + 5 * PAGE, a + 8 * PAGE));
    assertThat(f.proc.load(a + PAGE)).isEqualTo(2);
    assertThat(f.proc.load(a + 6 * PAGE)).isEqualTo(7);
    assertThat(f.pfn(a + 6 * PAGE)).isEqualTo(kept);
    assertThat(f.memory.state(gone)).isEqualTo(FrameState.FREED);
    assertThatThrownBy(() -> f.proc.load(a + 3 * PAGE))
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(Errno.EFAULT);
    f.checker.assertClean();
  }

  @Test
  void munmap_acrossTwoVmasAndAHole_isOneUnmapOfTheRequest() throws ErrnoException {
    long a = f.proc.mmap(0x4000_0000L, 2 * PAGE, RW, ANON_PRIVATE);
    long b = f.proc.mmap(0x4000_0000L + 3 * PAGE, 2 * PAGE, RW, ANON_PRIVATE);
    f.proc.store(a, 1);
    f.proc.store(b, 2);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.munmap(a + PAGE, 3 * PAGE);

    assertThat(rec.events()).containsExactly(ev(UNMAP, a + PAGE, a + 4 * PAGE));
    assertThat(f.proc.vmas())
        .extracting(Vma::start, Vma::end)
        .containsExactly(tuple(a, a + PAGE), tuple(b + PAGE, b + 2 * PAGE));
  }

  @Test
  void munmap_ofNothing_firesNothing() throws ErrnoException {
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.munmap(0x5000_0000L, PAGE);

    assertThat(rec.events()).isEmpty();
  }

  @Test
  void mmapFixed_overAMapping_unmapsItFirst() throws ErrnoException {
    long a = f.populated(4);
    long old = f.pfn(a + PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    long b = f.proc.mmap(a + PAGE, 2 * PAGE, RW, ANON_PRIVATE | Mman.MAP_FIXED);

    assertThat(b).isEqualTo(a + PAGE);
    assertThat(rec.events()).containsExactly(ev(UNMAP, a + PAGE, a + 3 * PAGE));
    assertThat(f.memory.state(old)).isEqualTo(FrameState.FREED);
    assertThat(f.proc.load(a + PAGE)).isZero();
    assertThat(f.proc.load(a + 3 * PAGE)).isEqualTo(4);
  }

  @Test
  void munmap_unaligned_isEinval() {
    assertThatThrownBy(() -> f.proc.munmap(0x1001, PAGE))
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(Errno.EINVAL);
  }
}
