package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.api.MmuNotifierEvent.PROTECTION_PAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_ANONYMOUS;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.sim.mem.FrameState;
import org.junit.jupiter.api.Test;

class ForkTest {
  private final MmFixture f = new MmFixture();

  @Test
  void fork_writeProtectsTheParentInsideProtectionPageOfTheWholeVma() throws ErrnoException {
    long a = f.anon(4);
    f.proc.store(a + PAGE, 5); // only one page touched: the range is still the whole VMA
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    SimProcess child = f.proc.fork();

    assertThat(rec.events()).containsExactly(ev(PROTECTION_PAGE, a, a + 4 * PAGE));
    assertThat(f.proc.pte(a + PAGE).writable()).isFalse();
    assertThat(child.pte(a + PAGE).writable()).isFalse();
    assertThat(child.pte(a + PAGE).pfn()).isEqualTo(f.pfn(a + PAGE));
    assertThat(child.load(a + PAGE)).isEqualTo(5);
    f.checker.assertClean();
  }

  @Test
  void parentWrite_breaksCowWithClearOfThePage_childKeepsTheOldData() throws ErrnoException {
    long a = f.populated(2);
    long shared = f.pfn(a);
    SimProcess child = f.proc.fork();
    MmFixture.Recorder parentRec = MmFixture.record(f.proc);
    MmFixture.Recorder childRec = MmFixture.record(child);

    f.proc.store(a, 42);

    assertThat(parentRec.events()).containsExactly(ev(CLEAR, a, a + PAGE));
    assertThat(childRec.events()).isEmpty();
    assertThat(f.pfn(a)).isNotEqualTo(shared);
    assertThat(child.pte(a).pfn()).isEqualTo(shared);
    assertThat(f.proc.load(a)).isEqualTo(42);
    assertThat(child.load(a)).isEqualTo(1);
    assertThat(f.memory.refcount(shared)).as("only the child maps it now").isEqualTo(1);
    f.checker.assertClean();
  }

  @Test
  void childWrite_breaksCowInTheChild_thenTheParentReusesItsPage() throws ErrnoException {
    long a = f.populated(1);
    long shared = f.pfn(a);
    SimProcess child = f.proc.fork();
    MmFixture.Recorder parentRec = MmFixture.record(f.proc);
    MmFixture.Recorder childRec = MmFixture.record(child);

    child.store(a, 7);
    f.proc.store(a, 8);

    assertThat(childRec.events()).containsExactly(ev(CLEAR, a, a + PAGE));
    assertThat(parentRec.events()).as("sole reference: reused in place").isEmpty();
    assertThat(f.pfn(a)).isEqualTo(shared);
    assertThat(child.load(a)).isEqualTo(7);
    assertThat(f.proc.load(a)).isEqualTo(8);
  }

  @Test
  void fork_ofNeverWrittenPrivateMemory_copiesNoPageTables() throws ErrnoException {
    long a = f.anon(2);
    f.proc.load(a); // zero page only: no anonymous page, no anon_vma
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    SimProcess child = f.proc.fork();

    assertThat(rec.events()).isEmpty();
    assertThat(child.pte(a).type()).isEqualTo(PteView.Type.NONE);
    assertThat(child.load(a)).isZero();
  }

  @Test
  void fork_ofSharedMemory_firesNothingAndWritesStayShared() throws ErrnoException {
    long a = f.proc.mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
    f.proc.store(a, 1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    SimProcess child = f.proc.fork();
    child.store(a, 2);

    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.load(a)).isEqualTo(2);
    assertThat(f.pfn(a)).isEqualTo(child.pte(a).pfn());
  }

  @Test
  void fork_withAPinnedPage_givesTheChildACopyAndLeavesTheParentWritable() throws ErrnoException {
    long a = f.populated(2);
    long pinned = f.pfn(a);
    long[] pfns = new long[1];
    f.proc.mm().mmapLock().downRead();
    try {
      f.proc.mm().getUserPages(a, 1, Gup.FOLL_PIN | Gup.FOLL_WRITE, pfns);
    } finally {
      f.proc.mm().mmapLock().upRead();
    }

    SimProcess child = f.proc.fork();

    assertThat(f.proc.pte(a).writable()).isTrue();
    assertThat(child.pte(a).pfn()).isNotEqualTo(pinned);
    assertThat(child.load(a)).isEqualTo(1);
    assertThat(f.proc.pte(a + PAGE).writable()).as("unpinned page shared").isFalse();
    f.memory.unpin(pinned);
  }

  @Test
  void exitOfTheChild_dropsItsReferencesOnly() throws ErrnoException {
    long a = f.populated(1);
    long shared = f.pfn(a);
    SimProcess child = f.proc.fork();

    child.exit();

    assertThat(f.memory.state(shared)).isEqualTo(FrameState.ALLOCATED);
    assertThat(f.proc.load(a)).isEqualTo(1);
    f.proc.store(a, 3);
    assertThat(f.pfn(a)).as("exclusive again: reused").isEqualTo(shared);
  }
}
