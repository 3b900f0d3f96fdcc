package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.api.MmuNotifierEvent.PROTECTION_VMA;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_PRIVATE;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.sim.mem.PhysicalMemory;
import org.junit.jupiter.api.Test;

class CpuAccessTest {
  private final MmFixture f = new MmFixture();

  @Test
  void firstRead_mapsTheZeroPageWithoutInvalidation() throws ErrnoException {
    long a = f.anon(1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThat(f.proc.load(a + 8)).isZero();

    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.ZERO);
    assertThat(f.proc.pte(a).pfn()).isEqualTo(PhysicalMemory.ZERO_PFN);
    assertThat(f.proc.pte(a).writable()).isFalse();
  }

  @Test
  void writeAfterZeroPageRead_replacesItInsideClearOfThePage() throws ErrnoException {
    long a = f.anon(2);
    f.proc.load(a + PAGE);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.store(a + PAGE, 5);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a + PAGE, a + 2 * PAGE));
    assertThat(f.proc.pte(a + PAGE).type()).isEqualTo(PteView.Type.PRESENT);
    assertThat(f.proc.pte(a + PAGE).writable()).isTrue();
    assertThat(f.proc.load(a + PAGE)).isEqualTo(5);
    f.checker.assertClean();
  }

  @Test
  void firstWrite_mapsANewWritablePageWithoutInvalidation() throws ErrnoException {
    long a = f.anon(1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.store(a, -1);

    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.pte(a).dirty()).isTrue();
    assertThat(f.proc.pte(a).exclusive()).isTrue();
    assertThat(f.proc.load(a)).isEqualTo(-1);
  }

  @Test
  void bytes_areLittleEndianWithinWords() throws ErrnoException {
    long a = f.anon(1);
    f.proc.store(a, 0x0102);
    f.proc.storeByte(a + 2, (byte) 3);

    assertThat(f.proc.loadByte(a)).isEqualTo((byte) 2);
    assertThat(f.proc.load(a)).isEqualTo(0x030102);
  }

  @Test
  void sharedFileMapping_writesGoToThePageCacheAndTheFile() throws ErrnoException {
    SimFile file = f.machine.createFile("f", 2);
    file.writeLong(PAGE, 11);
    long a = f.proc.mmap(0, 2 * PAGE, RW, MAP_SHARED, file, 0);

    assertThat(f.proc.load(a + PAGE)).isEqualTo(11);
    f.proc.store(a + PAGE, 12);

    assertThat(file.readLong(PAGE)).isEqualTo(12);
    assertThat(file.isCached(1)).isTrue();
  }

  @Test
  void privateFileMapping_readsThePageCache_writeCopies() throws ErrnoException {
    SimFile file = f.machine.createFile("f", 1);
    file.writeLong(0, 3);
    long a = f.proc.mmap(0, PAGE, RW, MAP_PRIVATE, file, 0);
    assertThat(f.proc.load(a)).isEqualTo(3);
    long cached = f.pfn(a);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.store(a, 4);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + PAGE));
    assertThat(f.pfn(a)).isNotEqualTo(cached);
    assertThat(f.proc.pte(a).anon()).isTrue();
    assertThat(file.readLong(0)).as("the file is untouched").isEqualTo(3);
  }

  @Test
  void fileMapping_pastTheEnd_isSigbus() throws ErrnoException {
    SimFile file = f.machine.createFile("f", 1);
    long a = f.proc.mmap(0, 2 * PAGE, PROT_READ, MAP_SHARED, file, 0);

    assertThatThrownBy(() -> f.proc.load(a + PAGE))
        .isInstanceOf(ErrnoException.class)
        .hasMessageContaining("SIGBUS");
  }

  @Test
  void accessOutsideAnyMapping_orAgainstProtection_isSigsegv() throws ErrnoException {
    long a = f.proc.mmap(0, PAGE, PROT_READ, MmFixture.ANON_PRIVATE);

    assertThatThrownBy(() -> f.proc.load(0x7000_0000L))
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(Errno.EFAULT);
    assertThatThrownBy(() -> f.proc.store(a, 1)).hasMessageContaining("SIGSEGV");
  }

  @Test
  void unalignedWordAccess_isRefusedNamingTheInPageOffsetAndSize_withoutFaulting()
      throws ErrnoException {
    long a = f.anon(1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    assertThatThrownBy(() -> f.proc.load(a + 12))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll(
            "unaligned 8-byte CPU load", "in-page offset 12", Long.toHexString(a + 12));
    assertThatThrownBy(() -> f.proc.store(a + PAGE - 4, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll("unaligned 8-byte CPU store", "in-page offset 4092");

    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.NONE);
    assertThat(rec.events()).isEmpty();
    f.proc.storeByte(a + 12, (byte) 7);
    assertThat(f.proc.load(a + 8)).isEqualTo(7L << 32);
  }

  @Test
  void numaHinting_protectsThenTheNextAccessRestoresWithoutInvalidation() throws ErrnoException {
    long a = f.populated(1);
    MmFixture.Recorder rec = MmFixture.record(f.proc);

    f.proc.numaProtect(a, PAGE);

    assertThat(rec.events()).containsExactly(ev(PROTECTION_VMA, a, a + PAGE));
    assertThat(f.proc.pte(a).protnone()).isTrue();
    rec.clear();
    assertThat(f.proc.load(a)).isEqualTo(1);
    assertThat(f.proc.pte(a).protnone()).isFalse();
    assertThat(rec.events()).isEmpty();
  }
}
