package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.api.MmuNotifierEvent.MIGRATE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.ev;
import static org.assertj.core.api.Assertions.assertThat;

import io.mmulab.api.ErrnoException;
import io.mmulab.api.sync.RwSemaphore;
import io.mmulab.sim.mem.FrameState;
import org.junit.jupiter.api.Test;

/**
 * {@code migrate_vma}'s slow path: a page the collection took that is still mapped elsewhere is
 * unmapped from every other address space by {@code try_to_migrate} (CLEAR of the page, no owner,
 * in that address space), and migrates only if the migration then holds every reference.
 */
class MigrateVmaSlowPathTest {
  private final MmFixture f = new MmFixture();
  private final Object owner = new Object();

  @Test
  void migrate_ofPagesSharedWithAForkChild_clearsTheChildsMappings_bothMapTheNewFrames()
      throws ErrnoException {
    long a = f.populated(2);
    SimProcess child = f.proc.fork();
    long old0 = f.pfn(a);
    long old1 = f.pfn(a + PAGE);
    assertThat(child.pte(a).pfn()).isEqualTo(old0);
    MmFixture.Recorder parentRec = MmFixture.record(f.proc);
    MmFixture.Recorder childRec = MmFixture.record(child);

    int n = f.proc.migrate(a, a + 2 * PAGE, owner);

    assertThat(n).isEqualTo(2);
    assertThat(parentRec.events()).containsExactly(ev(MIGRATE, a, a + 2 * PAGE, owner));
    assertThat(childRec.events())
        .containsExactly(ev(CLEAR, a, a + PAGE), ev(CLEAR, a + PAGE, a + 2 * PAGE));
    long new0 = f.pfn(a);
    long new1 = f.pfn(a + PAGE);
    assertThat(new0).isNotIn(old0, old1);
    assertThat(child.pte(a).pfn()).isEqualTo(new0);
    assertThat(child.pte(a + PAGE).pfn()).isEqualTo(new1);
    assertThat(f.memory.state(old0)).isEqualTo(FrameState.FREED);
    assertThat(f.memory.state(old1)).isEqualTo(FrameState.FREED);
    assertThat(f.memory.refcount(new0)).isEqualTo(2);
    // Still shared copy-on-write: read-only in both, contents moved.
    assertThat(f.proc.pte(a).writable()).isFalse();
    assertThat(child.pte(a).writable()).isFalse();
    assertThat(f.proc.load(a + PAGE)).isEqualTo(2);
    assertThat(child.load(a + PAGE)).isEqualTo(2);
    f.proc.store(a, 7); // the parent copies; the child keeps the migrated frame
    assertThat(child.load(a)).isEqualTo(1);
    assertThat(child.pte(a).pfn()).isEqualTo(new0);
    assertThat(f.memory.refcount(new0)).isEqualTo(1);
    f.checker.assertClean();
  }

  @Test
  void migrate_ofASharedPageWithAnExtraReference_unmapsItEverywhereThenPutsItBack()
      throws ErrnoException {
    long a = f.populated(1);
    SimProcess child = f.proc.fork();
    long old = f.pfn(a);
    f.memory.get(old); // a GUP reference: the migration cannot hold every reference
    int allocated = f.memory.allocatedFrames();
    MmFixture.Recorder childRec = MmFixture.record(child);

    int n = f.proc.migrate(a, a + PAGE, owner);

    assertThat(n).isZero();
    // The kernel unmaps first and checks the references afterwards: the CLEAR still fired.
    assertThat(childRec.events()).containsExactly(ev(CLEAR, a, a + PAGE));
    assertThat(f.pfn(a)).isEqualTo(old);
    assertThat(child.pte(a).pfn()).isEqualTo(old);
    assertThat(child.pte(a).writable()).isFalse();
    assertThat(f.memory.refcount(old)).isEqualTo(3);
    assertThat(f.memory.allocatedFrames()).isEqualTo(allocated);
    assertThat(child.load(a)).isEqualTo(1);
    f.memory.put(old);
    f.checker.assertClean();
  }

  @Test
  void migrate_whenTheOtherAddressSpaceIsBusy_leavesItsMappingAndSkipsThePage()
      throws ErrnoException {
    long a = f.populated(1);
    SimProcess child = f.proc.fork();
    long old = f.pfn(a);
    MmFixture.Recorder childRec = MmFixture.record(child);
    RwSemaphore childLock = child.mm().mmapLock();

    childLock.downWrite(); // the reverse-map step only tries the other mmap lock
    int n;
    try {
      n = f.proc.migrate(a, a + PAGE, owner);
    } finally {
      childLock.upWrite();
    }

    assertThat(n).isZero();
    assertThat(childRec.events()).isEmpty();
    assertThat(f.pfn(a)).isEqualTo(old);
    assertThat(child.pte(a).pfn()).isEqualTo(old);
    assertThat(f.memory.refcount(old)).isEqualTo(2);
    f.checker.assertClean();
  }

  @Test
  void migrate_ofASharedPageWhoseOtherMapperExited_takesNoSlowPath() throws ErrnoException {
    long a = f.populated(1);
    SimProcess child = f.proc.fork();
    MmFixture.Recorder childRec = MmFixture.record(child);
    childRec.sub().remove();
    child.exit();
    long old = f.pfn(a);

    int n = f.proc.migrate(a, a + PAGE, owner);

    assertThat(n).isEqualTo(1);
    assertThat(f.pfn(a)).isNotEqualTo(old);
    assertThat(f.memory.state(old)).isEqualTo(FrameState.FREED);
    assertThat(f.memory.refcount(f.pfn(a))).isEqualTo(1);
    f.checker.assertClean();
  }
}
