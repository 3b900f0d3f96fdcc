package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.api.MmuNotifierEvent.PROTECTION_PAGE;
import static io.mmulab.api.MmuNotifierEvent.PROTECTION_VMA;
import static io.mmulab.api.MmuNotifierEvent.UNMAP;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.HPAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_HUGE;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.sim.mem.FrameState;
import org.junit.jupiter.api.Test;

class HugePageTest {
  private final MmFixture f = new MmFixture();

  private long huge(int blocks) throws ErrnoException {
    long a = f.proc.mmap(0, blocks * HPAGE, RW, ANON_PRIVATE | MAP_HUGE);
    assertThat(a % HPAGE).isZero();
    return a;
  }

  @Test
  void firstTouch_mapsA2MiBPageOfAlignedContiguousFrames() throws ErrnoException {
    long a = huge(1);

    f.proc.store(a + 5 * PAGE, 1);

    long head = f.pfn(a);
    assertThat(head % 512).isZero();
    for (int i = 0; i < 512; i++) {
      PteView v = f.proc.pte(a + i * PAGE);
      assertThat(v.order()).isEqualTo(9);
      assertThat(v.pfn()).isEqualTo(head + i);
      assertThat(v.writable()).isTrue();
    }
    assertThat(f.proc.load(a + 5 * PAGE)).isEqualTo(1);
  }

  @Test
  void partialMunmap_splitsTheBlockFirst() throws ErrnoException {
    long a = huge(1);
    f.proc.store(a, 1);
    long head = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.munmap(a, PAGE);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + HPAGE), ev(UNMAP, a, a + PAGE));
    assertThat(f.memory.state(head)).isEqualTo(FrameState.FREED);
    assertThat(f.proc.pte(a + PAGE).order()).isZero();
    assertThat(f.proc.pte(a + PAGE).pfn()).isEqualTo(head + 1);
  }

  @Test
  void fullMprotect_keepsTheHugeMapping() throws ErrnoException {
    long a = huge(1);
    f.proc.store(a, 1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.mprotect(a, HPAGE, PROT_READ);

    assertThat(rec.events()).containsExactly(ev(PROTECTION_VMA, a, a + HPAGE));
    assertThat(f.proc.pte(a + 7 * PAGE).order()).isEqualTo(9);
    assertThat(f.proc.pte(a + 7 * PAGE).writable()).isFalse();
  }

  @Test
  void cowAfterFork_splitsTheBlockThenCopiesOnePage() throws ErrnoException {
    long a = huge(1);
    f.proc.store(a, 1);
    SimProcess child = f.proc.fork();
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.store(a + PAGE, 2);

    assertThat(rec.events())
        .containsExactly(ev(CLEAR, a, a + HPAGE), ev(CLEAR, a + PAGE, a + 2 * PAGE));
    assertThat(child.pte(a).order()).as("the child's mapping stays huge").isEqualTo(9);
    assertThat(child.load(a + PAGE)).isZero();
    assertThat(f.proc.load(a + PAGE)).isEqualTo(2);
  }

  @Test
  void fork_ofAHugeMapping_protectsTheWholeVma() throws ErrnoException {
    long a = huge(2);
    f.proc.store(a, 1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.fork();

    assertThat(rec.events()).containsExactly(ev(PROTECTION_PAGE, a, a + 2 * HPAGE));
  }

  @Test
  void reclaim_swapsTheWholeBlockInOneClear() throws ErrnoException {
    long a = huge(1);
    f.proc.store(a + 3 * PAGE, 7);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.reclaim(a, a + HPAGE)).isEqualTo(512);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + HPAGE));
    assertThat(f.proc.load(a + 3 * PAGE)).isEqualTo(7);
    assertThat(f.proc.pte(a + 3 * PAGE).order()).isZero();
  }

  @Test
  void madviseOfPartOfABlock_splitsItInsideTheClearWindow() throws ErrnoException {
    long a = huge(1);
    f.proc.store(a, 1);
    long head = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.madvise(a + PAGE, 2 * PAGE, Madvise.DONTNEED);

    assertThat(rec.events())
        .as("the split's CLEAR nests inside the madvise window, as in zap_pmd_range")
        .containsExactly(ev(CLEAR, a + PAGE, a + 3 * PAGE), ev(CLEAR, a, a + HPAGE));
    assertThat(f.memory.state(head + 1)).isEqualTo(FrameState.FREED);
    assertThat(f.proc.pte(a).order()).isZero();
    assertThat(f.proc.load(a)).isEqualTo(1);
    assertThat(f.proc.mm().notifierSubscriptions().activeInvalidateRanges()).isZero();
  }
}
