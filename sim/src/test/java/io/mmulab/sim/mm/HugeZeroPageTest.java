package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.api.MmuNotifierEvent.UNMAP;
import static io.mmulab.api.hmm.HmmPfnLayout.ERROR;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;
import static io.mmulab.api.hmm.HmmPfnLayout.VALID;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.HPAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_HUGE;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.mem.PhysicalMemory;
import org.junit.jupiter.api.Test;

/** The huge zero page: what a read fault maps in a THP-eligible block, and how a write ends it. */
class HugeZeroPageTest {
  private static final HmmPfnLayout L = HmmPfnLayout.MAINLINE;
  private static final int PAGES = (int) (HPAGE / PAGE);

  private final MmFixture f = new MmFixture();

  private long huge(int prot) throws ErrnoException {
    return f.proc.mmap(0, HPAGE, prot, ANON_PRIVATE | MAP_HUGE);
  }

  @Test
  void aReadFault_mapsTheHugeZeroPageReadOnlyAtPmdLevel() throws ErrnoException {
    long a = huge(PROT_READ);
    int before = f.memory.allocatedFrames();

    assertThat(f.proc.load(a + 100 * PAGE + 8)).isZero();

    long head = f.pfn(a);
    assertThat(head % PAGES).isZero();
    assertThat(head).isNotEqualTo(PhysicalMemory.ZERO_PFN);
    for (int i = 0; i < PAGES; i++) {
      PteView v = f.proc.pte(a + i * PAGE);
      assertThat(v.type()).isEqualTo(PteView.Type.ZERO);
      assertThat(v.order()).isEqualTo(9);
      assertThat(v.pfn()).isEqualTo(head + i);
      assertThat(v.writable()).isFalse();
      assertThat(f.proc.isHugeZero(a + i * PAGE)).isTrue();
    }
    assertThat(f.memory.allocatedFrames() - before).isEqualTo(PAGES);
  }

  @Test
  void everyMappingOfTheMachine_sharesOneHugeZeroPage() throws ErrnoException {
    long a = huge(RW);
    long b = huge(RW);
    SimProcess other = f.machine.spawnProcess("q");
    long c = other.mmap(0, HPAGE, RW, ANON_PRIVATE | MAP_HUGE);

    f.proc.load(a);
    int afterFirst = f.memory.allocatedFrames();
    f.proc.load(b + 3 * PAGE);
    other.load(c);

    assertThat(f.pfn(b)).isEqualTo(f.pfn(a));
    assertThat(other.pte(c).pfn()).isEqualTo(f.pfn(a));
    assertThat(f.memory.allocatedFrames()).isEqualTo(afterFirst);
  }

  @Test
  void hmmSnapshot_reportsTheZeroFramesValidReadOnlyOrder9_noFaultNoEvent() throws ErrnoException {
    long a = huge(RW);
    f.proc.load(a);
    long head = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    long[] out = MmFixture.hmmSnapshot(f.proc, a, HPAGE, 0);

    for (int i = 0; i < PAGES; i++) {
      assertThat(out[i] & (VALID | WRITE | ERROR)).as("entry %d", i).isEqualTo(VALID);
      assertThat(L.order(out[i])).isEqualTo(9);
      assertThat(L.pfn(out[i])).isEqualTo(head + i);
    }
    assertThat(rec.events()).isEmpty();
  }

  @Test
  void hmmReadFaultOnAnEmptyBlock_mapsTheHugeZeroPage() throws ErrnoException {
    long a = huge(PROT_READ);

    long[] out = MmFixture.hmmSnapshot(f.proc, a, HPAGE, REQ_FAULT);

    assertThat(f.proc.isHugeZero(a)).isTrue();
    assertThat(L.order(out[7])).isEqualTo(9);
    assertThat(out[7] & (VALID | WRITE)).isEqualTo(VALID);
  }

  @Test
  void hmmWriteFaultInAReadOnlyMapping_isEperm_andLeavesTheHugeZeroPage() throws ErrnoException {
    long a = huge(PROT_READ);
    f.proc.load(a);

    assertThatThrownBy(() -> MmFixture.hmmSnapshot(f.proc, a, HPAGE, REQ_FAULT | REQ_WRITE))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
    assertThat(f.proc.isHugeZero(a + HPAGE - PAGE)).isTrue();
  }

  @Test
  void aWrite_splitsIntoTheBaseZeroPage_thenCopiesThePage() throws ErrnoException {
    long a = huge(RW);
    f.proc.load(a);
    long head = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.store(a + 5 * PAGE, 42);

    assertThat(rec.events())
        .containsExactly(ev(CLEAR, a, a + HPAGE), ev(CLEAR, a + 5 * PAGE, a + 6 * PAGE));
    PteView written = f.proc.pte(a + 5 * PAGE);
    assertThat(written.type()).isEqualTo(PteView.Type.PRESENT);
    assertThat(written.order()).isZero();
    assertThat(written.writable()).isTrue();
    PteView other = f.proc.pte(a + 6 * PAGE);
    assertThat(other.type()).isEqualTo(PteView.Type.ZERO);
    assertThat(other.pfn()).isEqualTo(PhysicalMemory.ZERO_PFN);
    assertThat(other.order()).isZero();
    assertThat(f.proc.isHugeZero(a)).isFalse();
    assertThat(f.proc.load(a + 5 * PAGE)).isEqualTo(42);
    assertThat(f.proc.load(a + 6 * PAGE)).isZero();
    assertThat(f.memory.rawReadLong(head + 5, 0)).isZero();
  }

  @Test
  void aWriteFirst_stillMapsAFreshHugePage() throws ErrnoException {
    long a = huge(RW);

    f.proc.store(a, 1);

    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.PRESENT);
    assertThat(f.proc.pte(a).order()).isEqualTo(9);
  }

  @Test
  void forkAndMunmap_neverFreeTheHugeZeroPage() throws ErrnoException {
    long a = huge(RW);
    f.proc.load(a);
    long head = f.pfn(a);
    SimProcess child = f.proc.fork();
    assertThat(child.isHugeZero(a + PAGE)).isTrue();
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.munmap(a, HPAGE);
    child.exit();

    assertThat(rec.events()).containsExactly(ev(UNMAP, a, a + HPAGE));
    assertThat(f.memory.state(head)).isNotEqualTo(io.mmulab.sim.mem.FrameState.FREED);
    long b = huge(RW);
    f.proc.load(b);
    assertThat(f.pfn(b)).isEqualTo(head);
  }

  @Test
  void withoutRoomForTheHugeZeroPage_aReadFallsBackToTheBaseZeroPage() throws ErrnoException {
    MmFixture small = new MmFixture(RealSyncRuntime.get(), 100);
    long a = small.proc.mmap(0, HPAGE, PROT_READ, ANON_PRIVATE | MAP_HUGE);

    assertThat(small.proc.load(a)).isZero();

    assertThat(small.proc.pte(a).pfn()).isEqualTo(PhysicalMemory.ZERO_PFN);
    assertThat(small.proc.pte(a).order()).isZero();
    assertThat(small.proc.isHugeZero(a)).isFalse();
  }
}
