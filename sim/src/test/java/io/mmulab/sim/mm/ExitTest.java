package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.RELEASE;
import static io.mmulab.api.MmuNotifierEvent.UNMAP;
import static io.mmulab.api.MmuNotifierRange.ULONG_MAX;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.doAnswer;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.sim.mem.FrameState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExitTest {
  private final MmFixture f = new MmFixture();

  @Test
  void exit_firesReleaseThenOneUnmapOfEverything_framesFreedAfterTheUnmap() throws ErrnoException {
    long a = f.populated(2);
    SimFile file = f.machine.createFile("f", 1);
    long b = f.proc.mmap(0, PAGE, RW, MAP_SHARED, file, 0);
    f.proc.store(b, 9);
    long anon = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    List<String> inside = new ArrayList<>();
    doAnswer(
            inv -> {
              MmuNotifierRange r = inv.getArgument(1);
              inside.add(r.event() + " " + f.memory.state(anon));
              return true;
            })
        .when(rec.ops())
        .invalidate(any(), any(), anyLong());

    f.proc.exit();

    assertThat(rec.events()).containsExactly(ev(RELEASE, 0, ULONG_MAX), ev(UNMAP, 0, ULONG_MAX));
    assertThat(inside).containsExactly("RELEASE ALLOCATED", "UNMAP ALLOCATED");
    assertThat(f.memory.state(anon)).isEqualTo(FrameState.FREED);
    assertThat(f.proc.sim().isTornDown()).isTrue();
    assertThat(f.proc.sim().vmas()).isEmpty();
    assertThat(file.readLong(0)).as("file data outlives the process").isEqualTo(9);
    assertThatThrownBy(() -> f.proc.load(a)).isInstanceOf(IllegalStateException.class);
    rec.sub().remove();
    f.checker.assertClean();
  }

  @Test
  void exit_withoutMappings_firesOnlyRelease() throws ErrnoException {
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.exit();

    assertThat(rec.events()).containsExactly(ev(RELEASE, 0, ULONG_MAX));
  }

  @Test
  void exit_whileADriverHoldsAUserReference_waitsForItsMmput() throws ErrnoException {
    f.populated(1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    f.proc.mm().mmget();

    f.proc.exit();
    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.sim().isTornDown()).isFalse();

    f.proc.mm().mmput();
    assertThat(rec.events()).containsExactly(ev(RELEASE, 0, ULONG_MAX), ev(UNMAP, 0, ULONG_MAX));
  }

  @Test
  void exitWithThrowingReleaseFreesEverything() throws ErrnoException {
    long a = f.populated(3);
    long pfn = f.pfn(a);
    int framesBefore = f.memory.allocatedFrames();
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    IllegalStateException boom = new IllegalStateException("release callback failed");
    doAnswer(
            inv -> {
              MmuNotifierRange r = inv.getArgument(1);
              if (r.event() == RELEASE) {
                throw boom;
              }
              return true;
            })
        .when(rec.ops())
        .invalidate(any(), any(), anyLong());

    assertThatThrownBy(f.proc::exit).isSameAs(boom);

    assertThat(rec.events()).containsExactly(ev(RELEASE, 0, ULONG_MAX), ev(UNMAP, 0, ULONG_MAX));
    assertThat(f.proc.mm().users()).isZero();
    assertThat(f.proc.sim().isTornDown()).isTrue();
    assertThat(f.proc.sim().vmas()).isEmpty();
    assertThat(f.memory.state(pfn)).isEqualTo(FrameState.FREED);
    assertThat(f.memory.allocatedFrames()).isEqualTo(framesBefore - 3);
    assertThat(f.proc.mm().notifierSubscriptions().activeInvalidateRanges()).isZero();
    rec.sub().remove();
    f.checker.assertClean();
  }
}
