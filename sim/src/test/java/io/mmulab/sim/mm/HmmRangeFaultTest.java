package io.mmulab.sim.mm;

import static io.mmulab.api.MmuNotifierEvent.CLEAR;
import static io.mmulab.api.MmuNotifierEvent.MIGRATE;
import static io.mmulab.api.hmm.HmmPfnLayout.DMA_MAPPED;
import static io.mmulab.api.hmm.HmmPfnLayout.ERROR;
import static io.mmulab.api.hmm.HmmPfnLayout.P2PDMA;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_FAULT;
import static io.mmulab.api.hmm.HmmPfnLayout.REQ_WRITE;
import static io.mmulab.api.hmm.HmmPfnLayout.VALID;
import static io.mmulab.api.hmm.HmmPfnLayout.WRITE;
import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.HPAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static io.mmulab.sim.mm.MmFixture.ev;
import static io.mmulab.sim.mm.Mman.MAP_FIXED;
import static io.mmulab.sim.mm.Mman.MAP_HUGE;
import static io.mmulab.sim.mm.Mman.MAP_MIXEDMAP;
import static io.mmulab.sim.mm.Mman.MAP_PFNMAP;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_NONE;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.LockRule;
import io.mmulab.api.LockRuleViolation;
import io.mmulab.api.hmm.HmmPfnLayout;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.mem.PhysicalMemory;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rule of hmmRangeFault in docs/notifier.md and its invariants 31–36, in both entry layouts.
 */
class HmmRangeFaultTest {
  private static final long BASE = 0x4000_0000L;

  private final MmFixture f = new MmFixture();
  private MmFixture.Recorder rec;

  static Stream<HmmPfnLayout> layouts() {
    return Stream.of(HmmPfnLayout.MAINLINE, HmmPfnLayout.V5_10);
  }

  @BeforeEach
  void subscribe() throws ErrnoException {
    rec = MmFixture.recordWithSeq(f.proc);
  }

  private HmmRange range(
      HmmPfnLayout layout, long start, int pages, long defaultFlags, long mask, Object owner) {
    return range(layout, start, new long[pages], defaultFlags, mask, owner);
  }

  private HmmRange range(
      HmmPfnLayout layout, long start, long[] in, long defaultFlags, long mask, Object owner) {
    return new HmmRange(
        rec.sub(),
        rec.sub().readBegin(),
        start,
        start + in.length * PAGE,
        in,
        defaultFlags,
        mask,
        owner,
        layout);
  }

  private void fault(HmmRange r) throws ErrnoException {
    f.proc.mm().mmapLock().downRead();
    try {
      f.proc.mm().hmmRangeFault(r);
    } finally {
      f.proc.mm().mmapLock().upRead();
    }
  }

  /** The driver's loop: on EBUSY, a fresh readBegin and again. */
  private void faultUntilDone(HmmRange r) throws ErrnoException {
    long[] input = r.hmmPfns().clone();
    for (int i = 0; i < 100; i++) {
      try {
        fault(r);
        return;
      } catch (ErrnoException e) {
        if (e.errno() != Errno.EBUSY) {
          throw e;
        }
        System.arraycopy(input, 0, r.hmmPfns(), 0, input.length);
        r.setNotifierSeq(rec.sub().readBegin());
      }
    }
    throw new AssertionError("no progress");
  }

  private static void assertErrno(ThrowingCallable call, Errno errno) {
    assertThatThrownBy(call)
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(errno);
  }

  private static long valid(HmmPfnLayout l, long pfn, boolean write) {
    return l.encode(pfn, VALID | (write ? WRITE : 0), 0);
  }

  private long map(long addr, int pages, int prot) throws ErrnoException {
    return f.proc.mmap(addr, pages * PAGE, prot, ANON_PRIVATE | MAP_FIXED);
  }

  // ---------------------------------------------------------------------------------------------
  // The loop and invariant 31

  @ParameterizedTest
  @MethodSource("layouts")
  void collisionBeforeTheWalk_isEbusyWithoutTouchingTheArray(HmmPfnLayout l) throws ErrnoException {
    long a = f.populated(2);
    HmmRange r = range(l, a, new long[] {REQ_FAULT | DMA_MAPPED, 0x1234}, 0, REQ_FAULT, null);
    long[] before = r.hmmPfns().clone();
    f.proc.madvise(a, PAGE, Madvise.DONTNEED);

    assertErrno(() -> fault(r), Errno.EBUSY);

    assertThat(r.hmmPfns()).containsExactly(before);
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void aFaultThatInvalidates_surfacesAsEbusyOnTheNextLoop(HmmPfnLayout l) throws ErrnoException {
    long a = f.populated(1);
    long shared = f.pfn(a);
    f.proc.fork();
    rec.clear();
    HmmRange r = range(l, a, 1, REQ_FAULT | REQ_WRITE, 0, null);

    assertErrno(() -> fault(r), Errno.EBUSY);
    assertThat(rec.events())
        .as("the COW break hit our own subscription")
        .containsExactly(ev(CLEAR, a, a + PAGE));

    r.setNotifierSeq(rec.sub().readBegin());
    fault(r);
    assertThat(r.hmmPfns()[0]).isEqualTo(valid(l, f.pfn(a), true));
    assertThat(f.pfn(a)).isNotEqualTo(shared);
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void removedNotifier_isUseAfterRemoveWithoutTouchingTheArray(HmmPfnLayout l)
      throws ErrnoException {
    long a = f.anon(2);
    HmmRange r = range(l, a, new long[] {REQ_FAULT, REQ_FAULT | REQ_WRITE}, 0, REQ_FAULT, null);
    long[] before = r.hmmPfns().clone();
    rec.sub().remove();

    assertThatThrownBy(() -> fault(r))
        .isInstanceOfSatisfying(
            LockRuleViolation.class, v -> assertThat(v.rule()).isEqualTo(LockRule.USE_AFTER_REMOVE))
        .hasMessageContainingAll("hmmRangeFault", rec.sub().toString());

    assertThat(r.hmmPfns()).containsExactly(before);
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.NONE);
    assertThat(f.proc.pte(a + PAGE).type()).isEqualTo(PteView.Type.NONE);
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshot without fault

  @ParameterizedTest
  @MethodSource("layouts")
  void snapshot_reportsEveryEntryKindAndFaultsNothing(HmmPfnLayout l) throws ErrnoException {
    long a = map(BASE, 6, RW);
    f.proc.store(a, 1); // 0: writable
    f.proc.load(a + PAGE); // 1: zero page
    // 2: empty entry in a populated table
    f.proc.store(a + 3 * PAGE, 3);
    f.proc.reclaim(a + 3 * PAGE, a + 4 * PAGE); // 3: swap entry
    f.proc.store(a + 4 * PAGE, 4);
    f.proc.numaProtect(a + 4 * PAGE, PAGE); // 4: protnone
    f.proc.store(a + 5 * PAGE, 5);
    f.proc.makeDeviceExclusive(a + 5 * PAGE, a + 6 * PAGE, this); // 5: device-exclusive
    long numaPfn = f.pfn(a + 4 * PAGE);
    rec.clear();
    HmmRange r = range(l, a, 7, 0, 0, null); // page 6: no VMA

    fault(r);

    assertThat(r.hmmPfns())
        .containsExactly(
            valid(l, f.pfn(a), true),
            valid(l, PhysicalMemory.ZERO_PFN, false),
            0,
            0,
            l.encode(numaPfn, 0, 0),
            0,
            ERROR);
    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.pte(a + 2 * PAGE).type()).isEqualTo(PteView.Type.NONE);
    assertThat(f.proc.pte(a + 3 * PAGE).type()).isEqualTo(PteView.Type.SWAP);
    assertThat(f.proc.pte(a + 4 * PAGE).protnone()).isTrue();
    assertThat(f.proc.pte(a + 5 * PAGE).type()).isEqualTo(PteView.Type.DEVICE_EXCLUSIVE);
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void unreadableAndPfnmapVmas_areErrorWithoutRequest_efaultWithOne(HmmPfnLayout l)
      throws ErrnoException {
    long none = map(BASE, 1, PROT_NONE);
    long raw = f.proc.mmap(BASE + PAGE, PAGE, RW, MAP_SHARED | MAP_PFNMAP | MAP_FIXED);
    f.proc.remapPfnRange(raw, f.memory.alloc("bar"), 1);
    long hole = BASE + 2 * PAGE;

    HmmRange snap = range(l, none, 3, 0, 0, null);
    fault(snap);
    assertThat(snap.hmmPfns()).containsExactly(ERROR, ERROR, ERROR);

    for (long addr : new long[] {none, raw, hole}) {
      assertErrno(() -> fault(range(l, addr, 1, REQ_FAULT, 0, null)), Errno.EFAULT);
    }
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void specialEntry_isErrorWithoutRequest_efaultWithOne(HmmPfnLayout l) throws ErrnoException {
    long m = f.proc.mmap(BASE, 2 * PAGE, RW, MAP_SHARED | MAP_MIXEDMAP | MAP_FIXED);
    long page = f.memory.alloc("driver page");
    f.proc.vmInsertPage(m, page);
    f.proc.vmInsertPfn(m + PAGE, f.memory.alloc("raw"));

    HmmRange snap = range(l, m, 2, 0, 0, null);
    fault(snap);
    assertThat(snap.hmmPfns()).containsExactly(valid(l, page, true), ERROR);

    HmmRange first = range(l, m, 1, REQ_FAULT, 0, null);
    fault(first);
    assertThat(first.hmmPfns()).containsExactly(valid(l, page, true));
    assertErrno(() -> fault(range(l, m + PAGE, 1, REQ_FAULT, 0, null)), Errno.EFAULT);
  }

  // ---------------------------------------------------------------------------------------------
  // Faults, and invariants 34, 35

  @ParameterizedTest
  @MethodSource("layouts")
  void faultRequests_makeEntriesValid_andWritableWhenAsked(HmmPfnLayout l) throws ErrnoException {
    long a = f.anon(3);
    f.proc.store(a + 2 * PAGE, 1); // a page table exists: entries are walked one by one
    HmmRange r =
        range(
            l, a, new long[] {REQ_FAULT, REQ_FAULT | REQ_WRITE, 0}, 0, REQ_FAULT | REQ_WRITE, null);

    faultUntilDone(r);

    assertThat(r.hmmPfns())
        .containsExactly(
            valid(l, PhysicalMemory.ZERO_PFN, false),
            valid(l, f.pfn(a + PAGE), true),
            valid(l, f.pfn(a + 2 * PAGE), true));
    assertThat(f.proc.pte(a + PAGE).writable()).isTrue();
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.ZERO);
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void reqWriteWithoutReqFault_neverFaults(HmmPfnLayout l) throws ErrnoException {
    long a = f.anon(3);
    f.proc.load(a); // zero page
    f.proc.store(a + PAGE, 1);
    f.proc.mprotect(a + PAGE, PAGE, PROT_READ);
    rec.clear();
    HmmRange r =
        range(l, a, new long[] {REQ_WRITE, REQ_WRITE, REQ_WRITE}, 0, REQ_FAULT | REQ_WRITE, null);

    fault(r);

    assertThat(r.hmmPfns())
        .containsExactly(
            valid(l, PhysicalMemory.ZERO_PFN, false), valid(l, f.pfn(a + PAGE), false), 0);
    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.pte(a + 2 * PAGE).type()).isEqualTo(PteView.Type.NONE);
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void perPageRequestsOutsideTheMask_areIgnored(HmmPfnLayout l) throws ErrnoException {
    long a = f.anon(1);
    HmmRange r = range(l, a, new long[] {REQ_FAULT | REQ_WRITE}, 0, REQ_WRITE, null);

    fault(r);

    assertThat(r.hmmPfns()).containsExactly(0L);
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.NONE);
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void writeRequestOnAReadOnlyVma_isEperm_readRequestIsFine(HmmPfnLayout l) throws ErrnoException {
    long a = map(BASE, 1, PROT_READ);

    assertErrno(() -> fault(range(l, a, 1, REQ_FAULT | REQ_WRITE, 0, null)), Errno.EPERM);
    HmmRange r = range(l, a, 1, REQ_FAULT, 0, null);
    fault(r);
    assertThat(r.hmmPfns()).containsExactly(valid(l, PhysicalMemory.ZERO_PFN, false));
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void aFailingFault_isEfault(HmmPfnLayout l) throws ErrnoException {
    SimFile file = f.machine.createFile("f", 1);
    long a = f.proc.mmap(BASE, 2 * PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, file, 0);

    assertErrno(() -> fault(range(l, a + PAGE, 1, REQ_FAULT, 0, null)), Errno.EFAULT);
    MmFixture small = new MmFixture(RealSyncRuntime.get(), 0);
    long b = small.proc.mmap(0, PAGE, RW, ANON_PRIVATE);
    MmFixture.Recorder smallRec = MmFixture.record(small.proc);
    HmmRange oom =
        new HmmRange(
            smallRec.sub(),
            smallRec.sub().readBegin(),
            b,
            b + PAGE,
            new long[1],
            REQ_FAULT | REQ_WRITE,
            0,
            null,
            l);
    small.proc.mm().mmapLock().downRead();
    try {
      assertErrno(() -> small.proc.mm().hmmRangeFault(oom), Errno.EFAULT);
    } finally {
      small.proc.mm().mmapLock().upRead();
    }
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void swapProtnoneAndDeviceExclusiveEntries_areFaultedBack(HmmPfnLayout l) throws ErrnoException {
    long a = f.populated(3);
    f.proc.reclaim(a, a + PAGE);
    f.proc.numaProtect(a + PAGE, PAGE);
    f.proc.makeDeviceExclusive(a + 2 * PAGE, a + 3 * PAGE, this);
    rec.clear();
    HmmRange r = range(l, a, 3, REQ_FAULT, 0, null);

    faultUntilDone(r);

    assertThat(r.hmmPfns())
        .containsExactly(
            valid(l, f.pfn(a), true),
            valid(l, f.pfn(a + PAGE), true),
            valid(l, f.pfn(a + 2 * PAGE), true));
    assertThat(rec.events()).containsExactly(ev(CLEAR, a + 2 * PAGE, a + 3 * PAGE));
    assertThat(f.proc.load(a)).isEqualTo(1);
  }

  @Test
  void aHoleFault_coversTheWholeBlockPart_anEntryFault_theRestOfIt() throws ErrnoException {
    HmmPfnLayout l = HmmPfnLayout.MAINLINE;
    long a = map(BASE, 4, RW); // no page table yet: the block is pmd_none
    HmmRange r = range(l, a, new long[] {0, 0, REQ_FAULT, 0}, 0, REQ_FAULT, null);

    fault(r);

    for (int i = 0; i < 4; i++) {
      assertThat(f.proc.pte(a + i * PAGE).type()).as("page %d", i).isEqualTo(PteView.Type.ZERO);
    }
    long b = map(BASE + HPAGE, 4, RW);
    f.proc.store(b, 1); // a page table exists now
    HmmRange s = range(l, b, new long[] {0, 0, REQ_FAULT, 0}, 0, REQ_FAULT, null);

    fault(s);

    assertThat(f.proc.pte(b + PAGE).type()).isEqualTo(PteView.Type.NONE);
    assertThat(f.proc.pte(b + 2 * PAGE).type()).isEqualTo(PteView.Type.ZERO);
    assertThat(f.proc.pte(b + 3 * PAGE).type())
        .as("faulted though not requested")
        .isEqualTo(PteView.Type.ZERO);
    assertThat(s.hmmPfns()[3])
        .as("...and reported")
        .isEqualTo(valid(l, PhysicalMemory.ZERO_PFN, false));
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void fileAndSharedAnonymousMappings(HmmPfnLayout l) throws ErrnoException {
    SimFile file = f.machine.createFile("f", 1);
    file.writeLong(0, 8);
    long priv = f.proc.mmap(BASE, PAGE, RW, Mman.MAP_PRIVATE | MAP_FIXED, file, 0);
    long shared = f.proc.mmap(BASE + PAGE, PAGE, RW, MAP_SHARED | MAP_FIXED, file, 0);
    long shm = f.proc.mmap(BASE + 2 * PAGE, PAGE, RW, MAP_SHARED | Mman.MAP_ANONYMOUS | MAP_FIXED);

    HmmRange read = range(l, priv, 3, REQ_FAULT, 0, null);
    faultUntilDone(read);
    long cached = f.pfn(shared);
    assertThat(read.hmmPfns())
        .as("private: the page-cache page read-only; shared: writable")
        .containsExactly(
            valid(l, cached, false), valid(l, cached, true), valid(l, f.pfn(shm), true));

    HmmRange write = range(l, priv, 1, REQ_FAULT | REQ_WRITE, 0, null);
    faultUntilDone(write);
    assertThat(f.pfn(priv)).as("a private copy").isNotEqualTo(cached);
    assertThat(write.hmmPfns()).containsExactly(valid(l, f.pfn(priv), true));
    assertThat(f.proc.load(priv)).isEqualTo(8);
    assertThat(file.readLong(0)).isEqualTo(8);
  }

  // ---------------------------------------------------------------------------------------------
  // Migration entries

  @ParameterizedTest
  @MethodSource("layouts")
  void aMigrationEntry_isWaitedFor_thenWalkedAgain(HmmPfnLayout l) throws Exception {
    long a = f.populated(1);
    f.proc.mm().mmapLock().downRead();
    MigrateVma m;
    try {
      m = MigrateVma.setup(f.proc.sim(), a, a + PAGE, this, MigrateVma.SELECT_SYSTEM);
    } finally {
      f.proc.mm().mmapLock().upRead();
    }
    HmmRange snap = range(l, a, 1, 0, 0, null);
    fault(snap);
    assertThat(snap.hmmPfns()).as("no request: not waited for").containsExactly(0L);
    HmmRange r = range(l, a, 1, REQ_FAULT, 0, null);
    Throwable[] failure = {null};
    Thread walker =
        new Thread(
            () -> {
              try {
                fault(r);
              } catch (Throwable t) {
                failure[0] = t;
              }
            });
    walker.start();
    walker.join(200);
    assertThat(walker.isAlive()).isTrue();

    long dst = f.memory.alloc("dst");
    f.memory.copy(m.srcPfn(0), dst);
    m.setDestination(0, dst);
    m.pages();
    m.finalizeMigration();
    walker.join(5_000);

    assertThat(walker.isAlive()).isFalse();
    assertThat(failure[0]).isNull();
    assertThat(r.hmmPfns()).containsExactly(valid(l, dst, true));
  }

  // ---------------------------------------------------------------------------------------------
  // Sticky bits (invariant 33)

  @Test
  void stickyBits_surviveEveryKindOfOutput_mainline() throws ErrnoException {
    HmmPfnLayout l = HmmPfnLayout.MAINLINE;
    long a = map(BASE, 3, RW);
    f.proc.store(a, 1);
    long sticky = DMA_MAPPED | P2PDMA;
    long[] in = {sticky, sticky, sticky | REQ_FAULT, sticky};
    HmmRange r = range(l, a, in, 0, REQ_FAULT, null);

    fault(r);

    assertThat(r.hmmPfns())
        .containsExactly(
            sticky | valid(l, f.pfn(a), true),
            sticky,
            sticky | valid(l, PhysicalMemory.ZERO_PFN, false),
            sticky | ERROR);
  }

  @Test
  void theV510Layout_hasNoStickyBits() throws ErrnoException {
    HmmPfnLayout l = HmmPfnLayout.V5_10;
    long a = f.populated(1);
    HmmRange r = range(l, a, new long[] {DMA_MAPPED}, 0, 0, null);

    fault(r);

    assertThat(r.hmmPfns()).containsExactly(valid(l, f.pfn(a), true));
    assertThat(l.order(r.hmmPfns()[0])).isZero();
  }

  // ---------------------------------------------------------------------------------------------
  // Orders and device-private pages (invariant 36)

  @ParameterizedTest
  @MethodSource("layouts")
  void aHugeMapping_givesOrder9AndTheSameFlagsToEveryEntry_ptesOrder0(HmmPfnLayout l)
      throws ErrnoException {
    long a = f.proc.mmap(0, 2 * HPAGE, RW, ANON_PRIVATE | MAP_HUGE);
    f.proc.store(a, 1);
    long head = f.pfn(a);
    f.proc.munmap(a + HPAGE + PAGE, PAGE); // the second block gets base pages
    f.proc.store(a + HPAGE, 2);
    int pages = (int) (HPAGE / PAGE) + 1;
    HmmRange r = range(l, a, pages, REQ_FAULT, 0, null);

    fault(r);

    long[] out = r.hmmPfns();
    for (int i = 0; i < 512; i++) {
      assertThat(l.order(out[i])).as("entry %d", i).isEqualTo(9);
      assertThat(out[i] & l.flagsMask()).isEqualTo(out[0] & l.flagsMask());
      assertThat(l.pfn(out[i])).isEqualTo(head + i);
    }
    assertThat(out[0] & (VALID | WRITE)).isEqualTo(VALID | WRITE);
    assertThat(l.order(out[512])).isZero();
    assertThat(out[512]).isEqualTo(valid(l, f.pfn(a + HPAGE), true));
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void aHugeMappingSharedAfterFork_isReportedReadOnlyWithOrder9(HmmPfnLayout l)
      throws ErrnoException {
    long a = f.proc.mmap(0, HPAGE, RW, ANON_PRIVATE | MAP_HUGE);
    f.proc.store(a, 1);
    f.proc.fork();
    HmmRange r = range(l, a + 10 * PAGE, 4, REQ_FAULT, 0, null);

    fault(r);

    for (long e : r.hmmPfns()) {
      assertThat(e & (VALID | WRITE | ERROR)).isEqualTo(VALID);
      assertThat(l.order(e)).isEqualTo(9);
    }
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void devicePrivatePagesOfTheOwner_areValidWithTheirPfn_neverFaulted(HmmPfnLayout l)
      throws ErrnoException {
    long a = f.populated(2);
    MigrateTest.Pagemap pm = new MigrateTest.Pagemap();
    f.proc.migrateToDevice(a, a + 2 * PAGE, pm);
    f.proc.mprotect(a + PAGE, PAGE, PROT_READ); // a read-only device-private entry
    long dev0 = f.proc.pte(a).pfn();
    long dev1 = f.proc.pte(a + PAGE).pfn();
    rec.clear();
    HmmRange r = range(l, a, 2, REQ_FAULT | REQ_WRITE, 0, pm.owner);

    fault(r);

    assertThat(r.hmmPfns()).containsExactly(valid(l, dev0, true), valid(l, dev1, false));
    assertThat(rec.events()).isEmpty();
    assertThat(f.proc.pte(a).type()).isEqualTo(PteView.Type.DEVICE_PRIVATE);
  }

  @ParameterizedTest
  @MethodSource("layouts")
  void devicePrivatePagesOfAnotherOwner_areZeroWithoutRequest_migratedBackWithOne(HmmPfnLayout l)
      throws ErrnoException {
    long a = f.populated(1);
    MigrateTest.Pagemap pm = new MigrateTest.Pagemap();
    f.proc.migrateToDevice(a, a + PAGE, pm);
    rec.clear();

    HmmRange snap = range(l, a, 1, 0, 0, new Object());
    fault(snap);
    assertThat(snap.hmmPfns()).containsExactly(0L);

    HmmRange r = range(l, a, 1, REQ_FAULT, 0, new Object());
    faultUntilDone(r);
    assertThat(rec.events()).containsExactly(ev(MIGRATE, a, a + PAGE, pm.owner));
    assertThat(r.hmmPfns()).containsExactly(valid(l, f.pfn(a), true));
    assertThat(f.proc.load(a)).isEqualTo(1);
  }

  // ---------------------------------------------------------------------------------------------
  // Invariant 32, over random states and requests

  @ParameterizedTest
  @MethodSource("layouts")
  void onSuccess_everyEntryIsValidErrorOrZero_andEveryRequestIsMet(HmmPfnLayout l)
      throws ErrnoException {
    long base = Long.getLong("mmulab.seed", System.nanoTime());
    for (long seed = base; seed < base + 16; seed++) {
      try {
        new HmmRangeFaultTest().randomStatesAndRequests(l, seed);
      } catch (ErrnoException | RuntimeException e) {
        throw new AssertionError("seed " + seed + " (-Dmmulab.seed=" + seed + ")", e);
      }
    }
  }

  private void randomStatesAndRequests(HmmPfnLayout l, long seed) throws ErrnoException {
    subscribe();
    SplittableRandom rnd = new SplittableRandom(seed);
    int pages = 24;
    long a = map(BASE, pages, RW);
    for (int i = 0; i < pages; i++) {
      long va = a + i * PAGE;
      switch (rnd.nextInt(6)) {
        case 0 -> {}
        case 1 -> f.proc.load(va);
        case 2 -> f.proc.store(va, i);
        case 3 -> {
          f.proc.store(va, i);
          f.proc.reclaim(va, va + PAGE);
        }
        case 4 -> {
          f.proc.store(va, i);
          f.proc.numaProtect(va, PAGE);
        }
        default -> {
          f.proc.store(va, i);
          f.proc.makeDeviceExclusive(va, va + PAGE, this);
        }
      }
    }
    if (rnd.nextBoolean()) {
      f.proc.fork();
    }
    long[] in = new long[pages + 1]; // the last page has no VMA and no request
    for (int i = 0; i < pages; i++) {
      in[i] = new long[] {0, REQ_FAULT, REQ_FAULT | REQ_WRITE, REQ_WRITE}[rnd.nextInt(4)];
    }
    long[] requests = in.clone();
    HmmRange r = range(l, a, in, 0, REQ_FAULT | REQ_WRITE, null);

    faultUntilDone(r);

    long[] out = r.hmmPfns();
    for (int i = 0; i <= pages; i++) {
      long flags = out[i] & (VALID | WRITE | ERROR);
      String what =
          "seed " + seed + " page " + i + " " + Arrays.toString(new long[] {requests[i], out[i]});
      if ((requests[i] & REQ_FAULT) != 0) {
        assertThat(flags & VALID).as(what).isEqualTo(VALID);
        if ((requests[i] & REQ_WRITE) != 0) {
          assertThat(flags & WRITE).as(what).isEqualTo(WRITE);
        }
      }
      assertThat(flags == ERROR ? out[i] == ERROR : flags == 0 || (flags & VALID) != 0)
          .as(what)
          .isTrue();
    }
    assertThat(out[pages]).as("seed %d", seed).isEqualTo(ERROR);
    f.checker.assertClean();
  }
}
