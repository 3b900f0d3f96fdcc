package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.UNMAP;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.Mman.MAP_ANONYMOUS;
import static io.mmulab.sim.mm.Mman.MAP_PRIVATE;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.sim.mem.FrameState;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class OomReaperTest {
  private final MmFixture f = new MmFixture();

  @Test
  void reap_eagainSkipsTheVmaWithoutEnd_retriesUntilEverythingPrivateIsGone() throws Exception {
    long anon = f.populated(2);
    SimFile file = f.machine.createFile("f", 1);
    long priv = f.proc.mmap(0, PAGE, RW, MAP_PRIVATE, file, 0);
    f.proc.store(priv, 3); // a private copy
    long shared = f.proc.mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
    f.proc.store(shared, 4);
    long anonPfn = f.pfn(anon);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    AtomicInteger refusals = new AtomicInteger(2);
    doAnswer(
            inv -> {
              MmuNotifierRange r = inv.getArgument(1);
              return r.blockable() || r.start() != anon || refusals.getAndDecrement() <= 0;
            })
        .when(rec.ops())
        .invalidate(any(), any(), anyLong());

    MmuNotifier classic = mock(MmuNotifier.class);
    when(classic.invalidateRangeStart(any())).thenReturn(true);
    f.proc.mm().registerNotifier(classic);

    int attempts = new OomReaper(10, 1_000_000).reap(f.proc);

    assertThat(attempts).isEqualTo(3);
    assertThat(rec.events())
        .containsExactly(
            tuple(UNMAP, anon, anon + 2 * PAGE, false, null),
            tuple(UNMAP, priv, priv + PAGE, false, null),
            tuple(UNMAP, anon, anon + 2 * PAGE, false, null),
            tuple(UNMAP, priv, priv + PAGE, false, null),
            tuple(UNMAP, anon, anon + 2 * PAGE, false, null),
            tuple(UNMAP, priv, priv + PAGE, false, null));
    // Four windows opened (private file x3, anon once); the two refused ones got no end.
    verify(classic, times(4)).invalidateRangeStart(any());
    verify(classic, times(4)).invalidateRangeEnd(any());
    assertThat(f.memory.state(anonPfn)).isEqualTo(FrameState.FREED);
    assertThat(f.proc.pte(priv).type()).isEqualTo(PteView.Type.NONE);
    assertThat(f.proc.pte(shared).type())
        .as("shared memory is not reaped")
        .isEqualTo(PteView.Type.PRESENT);
    assertThat(f.proc.vmas()).as("VMAs stay").hasSize(3);
    assertThat(f.proc.mm().warnings()).isEmpty();
    assertThat(f.proc.mm().notifierSubscriptions().activeInvalidateRanges())
        .as("every window closed, none ended twice")
        .isZero();
    assertThat(f.proc.mm().notifierSubscriptions().invalidateSeq() % 2).isZero();
    f.checker.assertClean();
  }

  @Test
  void reap_givesUpAfterMaxAttemptsWhileTheMmapLockIsTaken() throws Exception {
    f.populated(1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    f.proc.mm().mmapLock().downWrite();
    int[] attempts = {-1};
    try {
      Thread reaper = new Thread(() -> attempts[0] = new OomReaper(3, 1_000).reap(f.proc));
      reaper.start();
      reaper.join(10_000);
    } finally {
      f.proc.mm().mmapLock().upWrite();
    }

    assertThat(attempts[0]).isZero();
    assertThat(rec.events()).isEmpty();
  }
}
