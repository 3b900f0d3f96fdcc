package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.PROTECTION_VMA;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.PROT_NONE;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import org.junit.jupiter.api.Test;

class MprotectTest {
  private final MmFixture f = new MmFixture();

  @Test
  void mprotect_downgrade_writeProtectsInsideOneProtectionVmaOfTheRange() throws ErrnoException {
    long a = f.populated(4);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.mprotect(a, 4 * PAGE, PROT_READ);

    assertThat(rec.events()).containsExactly(ev(PROTECTION_VMA, a, a + 4 * PAGE));
    for (int i = 0; i < 4; i++) {
      assertThat(f.proc.pte(a + i * PAGE).writable()).as("page %d", i).isFalse();
    }
    assertThat(f.proc.load(a + 2 * PAGE)).isEqualTo(3);
    assertThatThrownBy(() -> f.proc.store(a, 9))
        .isInstanceOf(ErrnoException.class)
        .hasMessageContaining("SIGSEGV");
    f.checker.assertClean();
  }

  @Test
  void mprotect_partial_splitsTheVmaAndCoversOnlyThePart() throws ErrnoException {
    long a = f.populated(4);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.mprotect(a + PAGE, 2 * PAGE, PROT_READ);

    assertThat(rec.events()).containsExactly(ev(PROTECTION_VMA, a + PAGE, a + 3 * PAGE));
    assertThat(f.proc.vmas())
        .extracting(Vma::start, Vma::end, Vma::prot)
        .containsExactly(
            tuple(a, a + PAGE, RW),
            tuple(a + PAGE, a + 3 * PAGE, PROT_READ),
            tuple(a + 3 * PAGE, a + 4 * PAGE, RW));
    assertThat(f.proc.pte(a).writable()).isTrue();
    assertThat(f.proc.pte(a + PAGE).writable()).isFalse();
    assertThat(f.proc.pte(a + 3 * PAGE).writable()).isTrue();
  }

  @Test
  void mprotect_upgrade_firesProtectionVmaAndMakesExclusiveAnonPagesWritable()
      throws ErrnoException {
    long a = f.populated(2);
    f.proc.mprotect(a, 2 * PAGE, PROT_READ);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.mprotect(a, 2 * PAGE, RW);

    assertThat(rec.events()).containsExactly(ev(PROTECTION_VMA, a, a + 2 * PAGE));
    assertThat(f.proc.pte(a).writable()).isTrue();
    rec.clear();
    f.proc.store(a, 5);
    assertThat(rec.events()).as("no copy-on-write needed").isEmpty();
  }

  @Test
  void mprotect_upgrade_leavesTheZeroPageReadOnly() throws ErrnoException {
    long a = f.anon(1);
    f.proc.load(a);
    f.proc.mprotect(a, PAGE, PROT_READ);

    f.proc.mprotect(a, PAGE, RW);

    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.ZERO);
    assertThat(f.proc.pte(a).writable()).isFalse();
  }

  @Test
  void mprotect_ofNeverTouchedMemory_firesNothing() throws ErrnoException {
    long a = f.anon(4);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.mprotect(a, 4 * PAGE, PROT_READ);

    assertThat(rec.events()).as("no page table exists in the range's 1 GiB region").isEmpty();
    assertThat(f.proc.vmas()).extracting(Vma::prot).containsExactly(PROT_READ);
  }

  @Test
  void mprotect_protNone_makesEntriesInaccessible() throws ErrnoException {
    long a = f.populated(1);
    long pfn = f.pfn(a);

    f.proc.mprotect(a, PAGE, PROT_NONE);

    assertThat(f.proc.pte(a).protnone()).isTrue();
    assertThat(f.proc.pte(a).pfn()).isEqualTo(pfn);
    assertThatThrownBy(() -> f.proc.load(a)).hasMessageContaining("SIGSEGV");
    f.proc.mprotect(a, PAGE, PROT_READ);
    assertThat(f.proc.load(a)).isEqualTo(1);
  }

  @Test
  void mprotect_overAGap_changesTheFirstPartThenFailsWithEnomem() throws ErrnoException {
    long a = f.populated(3);
    f.proc.munmap(a + PAGE, PAGE);

    assertThatThrownBy(() -> f.proc.mprotect(a, 3 * PAGE, PROT_READ))
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(Errno.ENOMEM);
    assertThat(f.proc.vmas()).extracting(Vma::prot).containsExactly(PROT_READ, RW);
  }
}
