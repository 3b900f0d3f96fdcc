package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_MIXEDMAP;
import static io.mmulab.sim.mm.Mman.MAP_PFNMAP;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_NONE;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.Gup;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.mem.PhysicalMemory;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class GupTest {
  private final MmFixture f = new MmFixture();

  private int gup(SimProcess p, long start, int n, int flags, long[] pfns) throws ErrnoException {
    p.mm().mmapLock().downRead();
    try {
      return p.mm().getUserPages(start, n, flags, pfns);
    } finally {
      p.mm().mmapLock().upRead();
    }
  }

  private static void assertErrno(ThrowingCallable call, Errno errno) {
    assertThatThrownBy(call)
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(errno);
  }

  @Test
  void references_faultInAndTakeOneReferenceEach() throws ErrnoException {
    long a = f.anon(3);
    long[] pfns = new long[3];

    assertThat(gup(f.proc, a, 3, 0, pfns)).isEqualTo(3);

    assertThat(pfns).containsOnly(PhysicalMemory.ZERO_PFN);
    f.proc.store(a + PAGE, 1);
    assertThat(gup(f.proc, a + PAGE, 1, 0, pfns)).isEqualTo(1);
    assertThat(f.memory.refcount(pfns[0])).isEqualTo(2);
    assertThat(f.memory.pincount(pfns[0])).isZero();
    f.memory.put(pfns[0]);
  }

  @Test
  void pins_takeAPinAndItsReference() throws ErrnoException {
    long a = f.populated(2);
    long[] pfns = new long[2];

    assertThat(gup(f.proc, a, 2, Gup.FOLL_PIN | Gup.FOLL_LONGTERM, pfns)).isEqualTo(2);

    assertThat(f.memory.pincount(pfns[0])).isEqualTo(1);
    assertThat(f.memory.refcount(pfns[0])).isEqualTo(2);
    f.memory.unpin(pfns[0]);
    f.memory.unpin(pfns[1]);
  }

  @Test
  void write_breaksCopyOnWriteWithClearOfThePage() throws ErrnoException {
    long a = f.populated(1);
    long shared = f.pfn(a);
    SimProcess child = f.proc.fork();
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    long[] pfns = new long[1];

    gup(f.proc, a, 1, Gup.FOLL_WRITE, pfns);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + PAGE));
    assertThat(pfns[0]).isNotEqualTo(shared).isEqualTo(f.pfn(a));
    assertThat(f.proc.pte(a).writable()).isTrue();
    assertThat(child.pte(a).pfn()).isEqualTo(shared);
    f.memory.put(pfns[0]);
  }

  @Test
  void readPinOfASharedAnonymousPage_unsharesIt() throws ErrnoException {
    long a = f.populated(1);
    long shared = f.pfn(a);
    f.proc.fork();
    MmFixture.Recorder rec = MmFixture.record(f.proc);
    long[] pfns = new long[1];

    gup(f.proc, a, 1, Gup.FOLL_PIN, pfns);

    assertThat(rec.events()).containsExactly(ev(CLEAR, a, a + PAGE));
    assertThat(pfns[0]).isNotEqualTo(shared);
    assertThat(f.proc.pte(a).writable()).as("unshare keeps the entry read-only").isFalse();
    assertThat(f.proc.pte(a).exclusive()).isTrue();
    f.memory.unpin(pfns[0]);
  }

  @Test
  void readReferenceOfASharedAnonymousPage_doesNotUnshare() throws ErrnoException {
    long a = f.populated(1);
    long shared = f.pfn(a);
    f.proc.fork();
    long[] pfns = new long[1];

    gup(f.proc, a, 1, 0, pfns);

    assertThat(pfns[0]).isEqualTo(shared);
    f.memory.put(pfns[0]);
  }

  @Test
  void efault_noVmaPfnmapWriteToReadOnlyReadOfProtNone() throws ErrnoException {
    long[] pfns = new long[1];
    long ro = f.proc.mmap(0, PAGE, PROT_READ, ANON_PRIVATE);
    long none = f.proc.mmap(0, PAGE, PROT_NONE, ANON_PRIVATE);
    long raw = f.proc.mmap(0, PAGE, RW, MAP_SHARED | MAP_PFNMAP);
    long frame = f.memory.alloc("bar");
    f.proc.remapPfnRange(raw, frame, 1);

    assertErrno(() -> gup(f.proc, 0x7000_0000L, 1, 0, pfns), Errno.EFAULT);
    assertErrno(() -> gup(f.proc, raw, 1, 0, pfns), Errno.EFAULT);
    assertErrno(() -> gup(f.proc, ro, 1, Gup.FOLL_WRITE, pfns), Errno.EFAULT);
    assertErrno(() -> gup(f.proc, none, 1, 0, pfns), Errno.EFAULT);
  }

  @Test
  void specialEntryOfAMixedMapping_isEfault_insertedPageIsFine() throws ErrnoException {
    long m = f.proc.mmap(0, 2 * PAGE, RW, MAP_SHARED | MAP_MIXEDMAP);
    long page = f.memory.alloc("driver page");
    long raw = f.memory.alloc("raw");
    f.proc.vmInsertPage(m, page);
    f.proc.vmInsertPfn(m + PAGE, raw);
    long[] pfns = new long[2];

    assertThat(gup(f.proc, m, 1, 0, pfns)).isEqualTo(1);
    assertThat(pfns[0]).isEqualTo(page);
    assertErrno(() -> gup(f.proc, m + PAGE, 1, 0, pfns), Errno.EFAULT);
    f.memory.put(page);
  }

  @Test
  void stopsAtTheFirstFailure_andReturnsThePartialCount() throws ErrnoException {
    long a = f.populated(3);
    f.proc.munmap(a + 2 * PAGE, PAGE);
    long[] pfns = new long[3];

    assertThat(gup(f.proc, a, 3, 0, pfns)).isEqualTo(2);

    f.memory.put(pfns[0]);
    f.memory.put(pfns[1]);
  }

  @Test
  void outOfFrames_isEnomem() throws ErrnoException {
    MmFixture small = new MmFixture(RealSyncRuntime.get(), 1);
    long a = small.anon(2);
    small.proc.store(a, 1);
    long[] pfns = new long[1];

    assertErrno(() -> gup(small.proc, a + PAGE, 1, Gup.FOLL_WRITE, pfns), Errno.ENOMEM);
  }

  @Test
  void withoutTheMmapLock_isALockRuleViolation() throws ErrnoException {
    long a = f.anon(1);

    assertThatThrownBy(() -> f.proc.mm().getUserPages(a, 1, 0, new long[1]))
        .isInstanceOf(LockRuleViolation.class);
  }

  @Test
  void longtermWithoutPin_isRefusedNamingTheRule_andGetsNothing() throws ErrnoException {
    long a = f.populated(1);
    long pfn = f.pfn(a);
    int refs = f.memory.refcount(pfn);
    long[] pfns = new long[1];

    assertThatThrownBy(() -> gup(f.proc, a, 1, Gup.FOLL_LONGTERM, pfns))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll(
            "flags 0x4", "FOLL_LONGTERM is only valid together with FOLL_PIN", "pin_user_pages");
    assertThatThrownBy(() -> gup(f.proc, a, 1, Gup.FOLL_WRITE | Gup.FOLL_LONGTERM, pfns))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll("flags 0x5", "FOLL_LONGTERM is only valid together with FOLL_PIN");
    assertThatThrownBy(() -> gup(f.proc, a, 1, 0x10 | Gup.FOLL_PIN, pfns))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll("flags 0x12", "unknown flag bits 0x10");

    assertThat(pfns).containsExactly(0);
    assertThat(f.memory.refcount(pfn)).isEqualTo(refs);
    assertThat(f.memory.pincount(pfn)).isZero();
  }

  @Test
  void sharedFileWrite_marksThePageDirtyForWriteback() throws ErrnoException {
    SimFile file = f.machine.createFile("f", 1);
    long a = f.proc.mmap(0, PAGE, RW, MAP_SHARED, file, 0);
    long[] pfns = new long[1];

    gup(f.proc, a, 1, Gup.FOLL_WRITE, pfns);
    f.memory.writeLong(pfns[0], 0, 5); // a device writes through the reference
    f.memory.put(pfns[0]);
    f.proc.reclaim(a, a + PAGE);

    assertThat(file.readLong(0)).isEqualTo(5);
  }
}
