package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.MIGRATE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.ev;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.doAnswer;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.sim.mem.FrameState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MigrateTest {
  private final MmFixture f = new MmFixture();
  private final Object owner = new Object();

  /** Device-private memory whose frees are counted. */
  static final class Pagemap implements DevicePagemap {
    final Object owner = new Object();
    final List<Long> freed = new ArrayList<>();

    @Override
    public Object owner() {
      return owner;
    }

    @Override
    public void pageFree(long pfn) {
      freed.add(pfn);
    }
  }

  @Test
  void migrate_replacesFramesInsideMigrateWithOwner_oldFramesFreedAfterwards()
      throws ErrnoException {
    long a = f.populated(3);
    long old = f.pfn(a + PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    List<String> inside = new ArrayList<>();
    doAnswer(
            inv -> {
              inside.add(f.memory.state(old) + " " + (f.pfn(a + PAGE) == old));
              return true;
            })
        .when(rec.ops())
        .invalidate(any(), any(), anyLong());

    int n = f.proc.migrate(a, a + 3 * PAGE, owner);

    assertThat(n).isEqualTo(3);
    assertThat(rec.events()).containsExactly(ev(MIGRATE, a, a + 3 * PAGE, owner));
    assertThat(inside).containsExactly("ALLOCATED true");
    assertThat(f.pfn(a + PAGE)).isNotEqualTo(old);
    assertThat(f.memory.state(old)).isEqualTo(FrameState.FREED);
    assertThat(f.proc.load(a + PAGE)).isEqualTo(2);
    assertThat(f.proc.pte(a + PAGE).writable()).isTrue();
    f.checker.assertClean();
  }

  @Test
  void migrate_skipsEmptyZeroAndReferencedPages() throws ErrnoException {
    long a = f.anon(3);
    f.proc.load(a); // zero page
    f.proc.store(a + 2 * PAGE, 1);
    long held = f.pfn(a + 2 * PAGE);
    f.memory.get(held); // somebody holds a reference

    int n = f.proc.migrate(a, a + 3 * PAGE, owner);

    assertThat(n).isZero();
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.ZERO);
    assertThat(f.proc.pte(a + PAGE).type()).isEqualTo(PteView.Type.NONE);
    assertThat(f.pfn(a + 2 * PAGE)).isEqualTo(held);
    f.memory.put(held);
  }

  @Test
  void migrationEntry_makesFaultsWaitUntilFinalize() throws Exception {
    long a = f.populated(1);
    SimMm sim = f.proc.sim();
    f.proc.mm().mmapLock().downRead();
    MigrateVma m;
    try {
      m = MigrateVma.setup(sim, a, a + PAGE, owner, MigrateVma.SELECT_SYSTEM);
    } finally {
      f.proc.mm().mmapLock().upRead();
    }
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.MIGRATION);
    long[] read = {0};
    Thread reader =
        new Thread(
            () -> {
              try {
                read[0] = f.proc.load(a);
              } catch (ErrnoException e) {
                throw new AssertionError(e);
              }
            });
    reader.start();
    reader.join(200);
    assertThat(reader.isAlive()).as("the CPU waits on the migration entry").isTrue();

    long dst = f.memory.alloc("dst");
    f.memory.copy(m.srcPfn(0), dst);
    m.setDestination(0, dst);
    m.pages();
    m.finalizeMigration();
    reader.join(5_000);

    assertThat(reader.isAlive()).isFalse();
    assertThat(read[0]).isEqualTo(1);
    assertThat(f.pfn(a)).isEqualTo(dst);
  }

  @Test
  void finalizeWithoutDestination_restoresTheSource() throws ErrnoException {
    long a = f.populated(1);
    long src = f.pfn(a);
    f.proc.mm().mmapLock().downRead();
    try {
      MigrateVma m = MigrateVma.setup(f.proc.sim(), a, a + PAGE, owner, MigrateVma.SELECT_SYSTEM);
      assertThat(m.isMigrating(0)).isTrue();
      m.pages();
      m.finalizeMigration();
      assertThat(m.migratedPages()).isZero();
    } finally {
      f.proc.mm().mmapLock().upRead();
    }
    assertThat(f.pfn(a)).isEqualTo(src);
    assertThat(f.proc.pte(a).writable()).isTrue();
    assertThat(f.proc.load(a)).isEqualTo(1);
  }

  @Test
  void migrateToDevice_installsDevicePrivateEntries_cpuAccessMigratesBackWithPagemapOwner()
      throws ErrnoException {
    long a = f.populated(2);
    Pagemap pm = new Pagemap();
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.migrateToDevice(a, a + 2 * PAGE, pm)).isEqualTo(2);

    assertThat(rec.events()).containsExactly(ev(MIGRATE, a, a + 2 * PAGE, pm.owner));
    PteView dev = f.proc.pte(a);
    assertThat(dev.type()).isEqualTo(PteView.Type.DEVICE_PRIVATE);
    assertThat(dev.owner()).isSameAs(pm.owner);
    assertThat(dev.writable()).isTrue();
    assertThat(f.memory.rawReadLong(dev.pfn(), 0)).as("data on the device").isEqualTo(1);
    rec.clear();

    assertThat(f.proc.load(a)).isEqualTo(1);

    assertThat(rec.events()).containsExactly(ev(MIGRATE, a, a + PAGE, pm.owner));
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.PRESENT);
    assertThat(pm.freed).containsExactly(dev.pfn());
    assertThat(f.memory.state(dev.pfn())).isEqualTo(FrameState.FREED);
    assertThat(f.proc.pte(a + PAGE).type()).isEqualTo(PteView.Type.DEVICE_PRIVATE);
    f.checker.assertClean();
  }

  @Test
  void migrateToDevice_ofEmptyEntries_insertsInASecondMigrateWindow() throws ErrnoException {
    long a = f.anon(2);
    Pagemap pm = new Pagemap();
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.migrateToDevice(a, a + 2 * PAGE, pm);

    assertThat(rec.events())
        .containsExactly(
            ev(MIGRATE, a, a + 2 * PAGE, pm.owner), ev(MIGRATE, a, a + 2 * PAGE, pm.owner));
    assertThat(f.proc.pte(a + PAGE).type()).isEqualTo(PteView.Type.DEVICE_PRIVATE);
    assertThat(f.proc.load(a + PAGE)).isZero();
  }

  @Test
  void gupOfADevicePrivatePage_migratesItBack() throws ErrnoException {
    long a = f.populated(1);
    Pagemap pm = new Pagemap();
    f.proc.migrateToDevice(a, a + PAGE, pm);
    long[] pfns = new long[1];

    f.proc.mm().mmapLock().downRead();
    try {
      f.proc.mm().getUserPages(a, 1, Gup.FOLL_PIN | Gup.FOLL_LONGTERM, pfns);
    } finally {
      f.proc.mm().mmapLock().upRead();
    }

    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.PRESENT);
    assertThat(pfns[0]).isEqualTo(f.pfn(a));
    f.memory.unpin(pfns[0]);
  }

  @Test
  void munmapOfDevicePrivatePages_freesTheDeviceFrames() throws ErrnoException {
    long a = f.populated(1);
    Pagemap pm = new Pagemap();
    f.proc.migrateToDevice(a, a + PAGE, pm);
    long dev = f.proc.pte(a).pfn();

    f.proc.munmap(a, PAGE);

    assertThat(pm.freed).containsExactly(dev);
    assertThat(f.memory.state(dev)).isEqualTo(FrameState.FREED);
  }

  @Test
  void setup_outsideOneVma_isEinval_andNeedsTheMmapLock() throws ErrnoException {
    long a = f.anon(1);
    assertThatThrownBy(
            () -> MigrateVma.setup(f.proc.sim(), a, a + PAGE, owner, MigrateVma.SELECT_SYSTEM))
        .isInstanceOf(LockRuleViolation.class);
    f.proc.mm().mmapLock().downRead();
    try {
      assertThatThrownBy(
              () ->
                  MigrateVma.setup(f.proc.sim(), a, a + 2 * PAGE, owner, MigrateVma.SELECT_SYSTEM))
          .isInstanceOf(ErrnoException.class)
          .extracting(e -> ((ErrnoException) e).errno())
          .isEqualTo(Errno.EINVAL);
    } finally {
      f.proc.mm().mmapLock().upRead();
    }
  }
}
