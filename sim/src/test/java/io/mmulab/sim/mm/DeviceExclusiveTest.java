package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.api.MmuNotifierEvent.EXCLUSIVE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.ev;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.LockRuleViolation;
import org.junit.jupiter.api.Test;

class DeviceExclusiveTest {
  private final MmFixture f = new MmFixture();
  private final Object device = new Object();

  @Test
  void makeDeviceExclusive_firesExclusiveWithOwnerPerPage() throws ErrnoException {
    long a = f.populated(2);
    long pfn = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    long[] pfns = f.proc.makeDeviceExclusive(a, a + 2 * PAGE, device);

    assertThat(rec.events())
        .containsExactly(
            ev(EXCLUSIVE, a, a + PAGE, device), ev(EXCLUSIVE, a + PAGE, a + 2 * PAGE, device));
    assertThat(pfns[0]).isEqualTo(pfn);
    PteView v = f.proc.pte(a);
    assertThat(v.type()).isEqualTo(PteView.Type.DEVICE_EXCLUSIVE);
    assertThat(v.owner()).isSameAs(device);
    assertThat(f.memory.refcount(pfn)).as("the entry holds the mapping's reference").isEqualTo(1);
    f.checker.assertClean();
  }

  @Test
  void cpuAccess_restoresTheEntryInsideClearOfThePage() throws ErrnoException {
    long a = f.populated(1);
    long pfn = f.pfn(a);
    f.proc.makeDeviceExclusive(a, a + PAGE, device);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.load(a)).isEqualTo(1);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + PAGE));
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.PRESENT);
    assertThat(f.proc.pte(a).writable()).isTrue();
    assertThat(f.pfn(a)).isEqualTo(pfn);
  }

  @Test
  void gup_restoresTheEntryToo() throws ErrnoException {
    long a = f.populated(1);
    f.proc.makeDeviceExclusive(a, a + PAGE, device);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    long[] pfns = new long[1];

    f.proc.mm().mmapLock().downRead();
    try {
      f.proc.mm().getUserPages(a, 1, Gup.FOLL_WRITE, pfns);
    } finally {
      f.proc.mm().mmapLock().upRead();
    }

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + PAGE));
    f.memory.put(pfns[0]);
  }

  @Test
  void ofACopyOnWritePage_breaksCowFirst() throws ErrnoException {
    long a = f.populated(1);
    f.proc.fork();
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.makeDeviceExclusive(a, a + PAGE, device);

    assertThat(rec.events())
        .containsExactly(ev(CLEAR, a, a + PAGE), ev(EXCLUSIVE, a, a + PAGE, device));
  }

  @Test
  void ofAFilePage_isRefused() throws ErrnoException {
    SimFile file = f.machine.createFile("f", 1);
    long a = f.proc.mmap(0, PAGE, MmFixture.RW, Mman.MAP_SHARED, file, 0);

    assertThatThrownBy(() -> f.proc.makeDeviceExclusive(a, a + PAGE, device))
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(Errno.EINVAL);
  }

  @Test
  void fromADriver_needsTheMmapLock_andReturnsAReference() throws ErrnoException {
    long a = f.populated(1);
    SimMm sim = SimMm.of(f.proc.mm());
    assertThatThrownBy(() -> sim.makeDeviceExclusive(a, device))
        .isInstanceOf(LockRuleViolation.class);

    f.proc.mm().mmapLock().downRead();
    long pfn;
    try {
      pfn = sim.makeDeviceExclusive(a, device);
    } finally {
      f.proc.mm().mmapLock().upRead();
    }
    assertThat(f.memory.refcount(pfn)).isEqualTo(2);
    f.memory.put(pfn);
  }
}
