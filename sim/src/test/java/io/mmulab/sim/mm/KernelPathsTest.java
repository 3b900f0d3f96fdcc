package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.api.MmuNotifierEvent.PROTECTION_PAGE;
import static io.mmulab.api.MmuNotifierEvent.SOFT_DIRTY;
import static io.mmulab.api.MmuNotifierEvent.UNMAP;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.HPAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.atLeastOnce;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.Lockable;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.core.LockDep;
import io.mmulab.sim.mem.FrameState;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The mm paths beyond munmap/mprotect/madvise/fork: the munmap lock downgrade, and each added
 * operation's event, range and blockable flag, its effect on the entries and the frames.
 */
class KernelPathsTest {
  private final MmFixture f = new MmFixture();

  @Test
  void munmap_zapsWithTheMmapLockDowngradedToRead_soAReaderCanRunDuringTheZap() throws Exception {
    long a = f.populated(2);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    RwSemaphore mmap = f.proc.mm().mmapLock();
    List<String> seen = new ArrayList<>();
    doAnswer(
            inv -> {
              AtomicBoolean readerGotIn = new AtomicBoolean();
              Thread reader =
                  new Thread(
                      () -> {
                        if (mmap.downReadTrylock()) {
                          readerGotIn.set(true);
                          mmap.upRead();
                        }
                      });
              reader.start();
              reader.join();
              seen.add(
                  mmap.isReadHeldByCurrentThread()
                      + " "
                      + mmap.isWriteHeldByCurrentThread()
                      + " "
                      + readerGotIn.get()
                      + " "
                      + f.proc.vmas().isEmpty());
              return true;
            })
        .when(rec.ops())
        .invalidate(any(), any(), anyLong());

    f.proc.munmap(a, 2 * PAGE);

    assertThat(seen).containsExactly("true false true true");
    assertThat(rec.events()).containsExactly(ev(UNMAP, a, a + 2 * PAGE));
    assertThat(mmap.isHeldByCurrentThread()).isFalse();
    f.checker.assertClean();
  }

  @Test
  void mmapFixed_keepsTheMmapLockForWriteAcrossItsUnmap() throws Exception {
    long a = f.populated(1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    RwSemaphore mmap = f.proc.mm().mmapLock();
    List<Boolean> writeHeld = new ArrayList<>();
    doAnswer(
            inv -> {
              writeHeld.add(mmap.isWriteHeldByCurrentThread());
              return true;
            })
        .when(rec.ops())
        .invalidate(any(), any(), anyLong());

    f.proc.mmap(a, PAGE, RW, ANON_PRIVATE | Mman.MAP_FIXED);

    assertThat(writeHeld).containsExactly(true);
    assertThat(mmap.isHeldByCurrentThread()).isFalse();
  }

  @Test
  void clearSoftDirty_firesSoftDirtyOverTheWholeSpace_andWriteProtects() throws Exception {
    long a = f.populated(2);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.clearSoftDirty()).isEqualTo(2);

    assertThat(rec.events()).containsExactly(ev(SOFT_DIRTY, 0, MmuNotifierRange.ULONG_MAX));
    assertThat(f.proc.pte(a).writable()).isFalse();
    long pfn = f.pfn(a);
    rec.clear();
    f.proc.store(a, 7);
    assertThat(rec.events()).as("the exclusive page is reused").isEmpty();
    assertThat(f.pfn(a)).isEqualTo(pfn);
    assertThat(f.proc.pte(a).writable()).isTrue();
    f.checker.assertClean();
  }

  @Test
  void mremap_firesUnmapOfTheOldRange_andMovesTheData() throws Exception {
    long a = f.populated(3);
    long to = a + 64 * PAGE;
    long pfn = f.pfn(a + PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.mremap(a, 3 * PAGE, to);

    assertThat(rec.events())
        .containsExactly(ev(UNMAP, a, a + 3 * PAGE), ev(UNMAP, a, a + 3 * PAGE));
    assertThat(f.proc.load(to + PAGE)).isEqualTo(2);
    assertThat(f.pfn(to + PAGE)).isEqualTo(pfn);
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.NONE);
    assertThat(f.proc.vmas()).singleElement().satisfies(v -> assertThat(v.start()).isEqualTo(to));
    assertThatThrownBy(() -> f.proc.mremap(to, 4 * PAGE, a))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT));
    f.checker.assertClean();
  }

  @Test
  void writeback_firesProtectionPagePerDirtySharedFilePage() throws Exception {
    SimFile file = f.machine.createFile("data", 4);
    long a = f.proc.mmap(0, 4 * PAGE, RW, Mman.MAP_SHARED, file, 0);
    f.proc.store(a, 1);
    f.proc.store(a + 2 * PAGE, 3);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.writeback(a, a + 4 * PAGE)).isEqualTo(2);

    assertThat(rec.events())
        .containsExactly(
            ev(PROTECTION_PAGE, a, a + PAGE), ev(PROTECTION_PAGE, a + 2 * PAGE, a + 3 * PAGE));
    assertThat(f.proc.pte(a).writable()).isFalse();
    assertThat(f.proc.pte(a).dirty()).isFalse();
    f.proc.store(a, 5);
    assertThat(f.proc.pte(a).writable()).isTrue();
    assertThat(f.proc.load(a)).isEqualTo(5);
    f.checker.assertClean();
  }

  @Test
  void ksmMerge_firesClearOfEachPage_andSharesOneFrameUntilAWrite() throws Exception {
    long a = f.anon(2);
    f.proc.store(a, 9);
    f.proc.store(a + PAGE, 9);
    long dupPfn = f.pfn(a + PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.ksmMerge(a, a + PAGE)).isTrue();

    assertThat(rec.events())
        .containsExactly(ev(CLEAR, a, a + PAGE), ev(CLEAR, a + PAGE, a + 2 * PAGE));
    assertThat(f.pfn(a + PAGE)).isEqualTo(f.pfn(a));
    assertThat(f.memory.state(dupPfn)).isEqualTo(FrameState.FREED);
    rec.clear();
    f.proc.store(a + PAGE, 10);
    assertThat(rec.events()).containsExactly(ev(CLEAR, a + PAGE, a + 2 * PAGE));
    assertThat(f.proc.load(a)).isEqualTo(9);
    assertThat(f.proc.load(a + PAGE)).isEqualTo(10);
    f.proc.store(a + 8, 1);
    assertThat(f.proc.ksmMerge(a, a + PAGE)).as("different contents").isFalse();
    f.checker.assertClean();
  }

  @Test
  void collapseHugePage_asksTestYoungPerPage_thenFiresClearOfTheBlock() throws Exception {
    long block = 0x4000_0000L;
    f.proc.mmap(block, HPAGE, RW, ANON_PRIVATE | Mman.MAP_FIXED);
    for (int i = 0; i < 512; i++) {
      f.proc.store(block + i * PAGE, i);
    }
    long oldPfn = f.pfn(block + 5 * PAGE);
    MmuNotifier classic = mock(MmuNotifier.class);
    f.proc.mm().registerNotifier(classic);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.collapseHugePage(block)).isTrue();

    assertThat(rec.events()).containsExactly(ev(CLEAR, block, block + HPAGE));
    verify(classic, times(512)).testYoung(eq(f.proc.mm()), anyLong());
    assertThat(f.proc.load(block + 5 * PAGE)).isEqualTo(5);
    assertThat(f.memory.state(oldPfn)).isEqualTo(FrameState.FREED);
    assertThat(f.pfn(block + PAGE)).isEqualTo(f.pfn(block) + 1);
    f.checker.assertClean();
  }

  @Test
  void compact_firesClearPerPage_andMovesEachPageToANewFrame() throws Exception {
    long a = f.populated(2);
    long pfn0 = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.compact(a, a + 2 * PAGE)).isEqualTo(2);

    assertThat(rec.events())
        .containsExactly(ev(CLEAR, a, a + PAGE), ev(CLEAR, a + PAGE, a + 2 * PAGE));
    assertThat(f.pfn(a)).isNotEqualTo(pfn0);
    assertThat(f.proc.load(a)).isEqualTo(1);
    assertThat(f.proc.load(a + PAGE)).isEqualTo(2);
    long pfn1 = f.pfn(a + PAGE);
    assertThat(f.proc.compact(a + PAGE, a + 2 * PAGE)).isEqualTo(1);
    assertThat(f.memory.state(pfn1)).isEqualTo(FrameState.FREED);
    f.checker.assertClean();
  }

  @Test
  void truncate_firesClearFromTheFirstPagePastTheNewEnd_andLaterFaultsFail() throws Exception {
    SimFile file = f.machine.createFile("data", 4);
    long a = f.proc.mmap(0, 4 * PAGE, RW, Mman.MAP_SHARED, file, 0);
    for (int i = 0; i < 4; i++) {
      f.proc.store(a + i * PAGE, i + 1);
    }
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.machine.truncate(file, 2);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a + 2 * PAGE, a + 4 * PAGE));
    assertThat(f.proc.pte(a + 3 * PAGE).type()).isEqualTo(PteView.Type.NONE);
    assertThat(f.proc.load(a + PAGE)).isEqualTo(2);
    assertThatThrownBy(() -> f.proc.load(a + 3 * PAGE))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT));
    assertThatThrownBy(() -> f.machine.truncate(file, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("data");
    f.checker.assertClean();
  }

  @Test
  void everyPteChange_reachesTheSecondaryTlbCallbackInsideThePageTableLock() throws Exception {
    long a = f.populated(2);
    MmuNotifier classic = mock(MmuNotifier.class);
    List<String> heldDuringFlush = new ArrayList<>();
    doAnswer(
            inv -> {
              for (Lockable l : LockDep.heldLocks()) {
                heldDuringFlush.add(l.name());
              }
              return null;
            })
        .when(classic)
        .invalidateSecondaryTlbs(any(), anyLong(), anyLong());
    f.proc.mm().registerNotifier(classic);

    f.proc.munmap(a, 2 * PAGE);

    verify(classic).invalidateSecondaryTlbs(f.proc.mm(), a, a + PAGE);
    verify(classic).invalidateSecondaryTlbs(f.proc.mm(), a + PAGE, a + 2 * PAGE);
    assertThat(heldDuringFlush).contains(f.proc.mm().name() + ".ptl");
  }

  @Test
  void agePages_asksEachPresentPageUnderThePageTableLock() throws Exception {
    long a = f.populated(3);
    MmuNotifier classic = mock(MmuNotifier.class);
    when(classic.clearFlushYoung(any(), eq(a + PAGE), anyLong())).thenReturn(true);
    when(classic.clearYoung(any(), anyLong(), anyLong())).thenReturn(true);
    f.proc.mm().registerNotifier(classic);

    assertThat(f.proc.agePages(a, a + 3 * PAGE, true)).isEqualTo(1);
    assertThat(f.proc.agePages(a, a + 3 * PAGE, false)).isEqualTo(3);

    verify(classic).clearFlushYoung(f.proc.mm(), a, a + PAGE);
    verify(classic).clearFlushYoung(f.proc.mm(), a + 2 * PAGE, a + 3 * PAGE);
    verify(classic, atLeastOnce()).clearYoung(f.proc.mm(), a + 2 * PAGE, a + 3 * PAGE);
  }
}
