package io.mmulab.sim.mem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.ViolationKind;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.check.Violation;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PhysicalMemoryTest {
  private static final String MM = "mm#1";
  private static final long VA = 0x7000;

  private final CoherencyChecker checker = new CoherencyChecker();
  private final PhysicalMemory mem = new PhysicalMemory(RealSyncRuntime.get(), 4, checker);

  @Test
  void alloc_returnsZeroedFrameWithOneReference() throws ErrnoException {
    long pfn = mem.alloc("test");

    assertThat(pfn).isNotEqualTo(PhysicalMemory.ZERO_PFN);
    assertThat(mem.info(pfn)).isEqualTo(new FrameInfo(pfn, FrameState.ALLOCATED, 1, 1, 0, "test"));
    assertThat(mem.readLong(pfn, 0)).isZero();
    assertThat(mem.readByte(pfn, PhysicalMemory.PAGE_SIZE - 1)).isZero();
    assertThat(mem.allocatedFrames()).isEqualTo(1);
  }

  @Test
  void constants_describeFourKilobytePages() {
    assertThat(PhysicalMemory.PAGE_SIZE).isEqualTo(4096).isEqualTo(1 << PhysicalMemory.PAGE_SHIFT);
  }

  @Test
  void put_lastReference_freesPoisonsAndReusesLifoWithGenerationBump() throws ErrnoException {
    long a = mem.alloc("a");
    long b = mem.alloc("b");
    mem.writeLong(a, 8, 42);
    mem.writeByte(b, 3, (byte) 7);

    mem.put(a);
    mem.put(b);

    assertThat(mem.state(a)).isEqualTo(FrameState.FREED);
    assertThat(mem.refcount(a)).isZero();
    assertThat(mem.rawReadLong(a, 8)).isEqualTo(PhysicalMemory.POISON);
    assertThat(mem.rawReadLong(a, 0)).isEqualTo(PhysicalMemory.POISON);
    assertThat(mem.rawReadByte(b, 3)).isEqualTo(PhysicalMemory.POISON_BYTE);
    assertThat(mem.allocatedFrames()).isZero();

    long c = mem.alloc("c");
    long d = mem.alloc("d");

    assertThat(c).as("last freed is reused first").isEqualTo(b);
    assertThat(d).isEqualTo(a);
    assertThat(mem.info(c)).isEqualTo(new FrameInfo(b, FrameState.ALLOCATED, 2, 1, 0, "c"));
    assertThat(mem.generation(d)).isEqualTo(2);
    assertThat(mem.rawReadLong(d, 8)).as("reallocated frames are zeroed").isZero();
    assertThat(mem.rawReadByte(c, 3)).isZero();
    assertThat(checker.trace())
        .anyMatch(e -> e.contains("frameFreed pfn=" + a + " gen=1"))
        .anyMatch(e -> e.contains("frameAllocated pfn=" + a + " gen=2 owner=d"));
    checker.assertClean();
  }

  @Test
  void getPut_countReferences() throws ErrnoException {
    long pfn = mem.alloc("x");
    mem.get(pfn);
    assertThat(mem.tryGet(pfn)).isTrue();
    assertThat(mem.refcount(pfn)).isEqualTo(3);

    mem.put(pfn);
    mem.put(pfn);
    assertThat(mem.state(pfn)).isEqualTo(FrameState.ALLOCATED);
    mem.put(pfn);

    assertThat(mem.state(pfn)).isEqualTo(FrameState.FREED);
    assertThat(mem.tryGet(pfn)).isFalse();
  }

  @Test
  void pin_holdsAReference_andPinnedFrameIsNeverFreedByPut() throws ErrnoException {
    long pfn = mem.alloc("x");
    mem.pin(pfn);
    assertThat(mem.info(pfn).refcount()).isEqualTo(2);
    assertThat(mem.pincount(pfn)).isEqualTo(1);

    mem.put(pfn); // the allocation's reference
    assertThat(mem.state(pfn)).isEqualTo(FrameState.ALLOCATED);
    assertThatThrownBy(() -> mem.put(pfn))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("pfn " + pfn)
        .hasMessageContaining("refcount 1")
        .hasMessageContaining("pincount 1");
    assertThat(mem.info(pfn)).isEqualTo(new FrameInfo(pfn, FrameState.ALLOCATED, 1, 1, 1, "x"));

    mem.unpin(pfn);

    assertThat(mem.state(pfn)).isEqualTo(FrameState.FREED);
    assertThat(mem.pincount(pfn)).isZero();
  }

  @Test
  void putAndUnpin_belowZero_areRejectedWithNothingChanged() throws ErrnoException {
    long pfn = mem.alloc("x");
    assertThatThrownBy(() -> mem.unpin(pfn))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("unpin of pfn " + pfn)
        .hasMessageContaining("pincount 0");
    assertThat(mem.info(pfn)).isEqualTo(new FrameInfo(pfn, FrameState.ALLOCATED, 1, 1, 0, "x"));

    mem.put(pfn);
    FrameInfo freed = mem.info(pfn);
    int allocated = mem.allocatedFrames();
    List<String> trace = checker.trace();

    assertThatThrownBy(() -> mem.put(pfn))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("put of pfn " + pfn)
        .hasMessageContaining("refcount 0 below zero")
        .hasMessageContaining("FREED");
    assertThatThrownBy(() -> mem.unpin(pfn)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> mem.get(pfn))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("get of freed pfn " + pfn);
    assertThatThrownBy(() -> mem.pin(pfn)).isInstanceOf(IllegalStateException.class);

    assertThat(mem.info(pfn)).isEqualTo(freed);
    assertThat(mem.allocatedFrames()).isEqualTo(allocated);
    assertThat(checker.trace()).as("no second free reported").isEqualTo(trace);
  }

  @Test
  void alloc_atBudget_throwsEnomemNamingTheBudgetWithNothingChanged() throws ErrnoException {
    List<Long> pfns = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      pfns.add(mem.alloc("f" + i));
    }
    List<FrameInfo> before = pfns.stream().map(mem::info).toList();
    List<String> trace = checker.trace();

    assertThatThrownBy(() -> mem.alloc("one too many"))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOMEM))
        .hasMessageContaining("frame budget of 4 frames exhausted")
        .hasMessageContaining("one too many");

    assertThat(pfns.stream().map(mem::info).toList()).isEqualTo(before);
    assertThat(mem.allocatedFrames()).isEqualTo(4);
    assertThat(checker.trace()).isEqualTo(trace);

    mem.put(pfns.get(2));
    assertThat(mem.alloc("fits again")).isEqualTo(pfns.get(2));
  }

  @Test
  void clear_zeroesAnAllocatedFrame_refusesTheZeroPage_reportsAFreedOne() throws ErrnoException {
    long pfn = mem.alloc("x");
    mem.writeLong(pfn, 8, 42);
    mem.writeByte(pfn, 4095, (byte) 7);

    mem.clear(pfn);

    assertThat(mem.readLong(pfn, 8)).isZero();
    assertThat(mem.readByte(pfn, 4095)).isZero();
    assertThat(mem.refcount(pfn)).isEqualTo(1);
    assertThatThrownBy(() -> mem.clear(PhysicalMemory.ZERO_PFN))
        .isInstanceOf(IllegalStateException.class);
    checker.assertClean();
    mem.put(pfn);
    mem.clear(pfn);
    assertThat(checker.violations(ViolationKind.USE_AFTER_FREE)).hasSize(1);
    assertThat(mem.rawReadLong(pfn, 8)).isEqualTo(PhysicalMemory.POISON);
  }

  @Test
  void zeroPage_isNeverFreedNorWritable() throws ErrnoException {
    long zero = PhysicalMemory.ZERO_PFN;
    mem.get(zero);
    mem.pin(zero);
    mem.put(zero);
    mem.put(zero);
    mem.unpin(zero);
    mem.put(zero);

    assertThat(mem.info(zero))
        .isEqualTo(new FrameInfo(zero, FrameState.ALLOCATED, 1, 1, 0, "zero-page"));
    assertThat(mem.readLong(zero, 0)).isZero();
    assertThat(mem.cpuReadByte(MM, VA, zero)).isZero();
    assertThatThrownBy(() -> mem.writeLong(zero, 0, 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("zero page");
    assertThatThrownBy(() -> mem.writeByte(zero, 0, (byte) 1))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> mem.cpuWriteLong(MM, VA, zero, 1))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(
            () -> mem.deviceWriteByte("dev", CoherencyChecker.NO_OP, MM, VA, zero, (byte) 1))
        .isInstanceOf(IllegalStateException.class);
    long pfn = mem.alloc("x");
    assertThatThrownBy(() -> mem.copy(pfn, zero)).isInstanceOf(IllegalStateException.class);
    assertThat(mem.rawReadLong(zero, 0)).isZero();
    assertThat(mem.allocatedFrames()).isEqualTo(1);
  }

  @Test
  void accessesToAFreedFrame_readPoison_dropWrites_andAreReportedAsUseAfterFree()
      throws ErrnoException {
    long pfn = mem.alloc("victim");
    mem.put(pfn);

    assertThat(mem.cpuReadLong(MM, VA, pfn)).isEqualTo(PhysicalMemory.POISON);
    mem.cpuWriteByte(MM, VA + 1, pfn, (byte) 1);
    assertThat(mem.deviceReadByte("gpu0", CoherencyChecker.NO_OP, MM, VA + 2, pfn))
        .isEqualTo(PhysicalMemory.POISON_BYTE);
    mem.deviceWriteLong("gpu0", CoherencyChecker.NO_OP, MM, VA + 8, pfn, 5);
    assertThat(mem.readLong(pfn, 16)).isEqualTo(PhysicalMemory.POISON);
    mem.writeBytes(pfn, 0, new byte[] {1, 2}, 0, 2);

    assertThat(mem.rawReadLong(pfn, 0)).isEqualTo(PhysicalMemory.POISON);
    assertThat(mem.rawReadLong(pfn, 8)).isEqualTo(PhysicalMemory.POISON);
    List<Violation> uaf = checker.violations(ViolationKind.USE_AFTER_FREE);
    assertThat(uaf).hasSize(6).allMatch(v -> v.pfn() == pfn);
    assertThat(uaf)
        .extracting(Violation::deviceId)
        .containsExactly("cpu", "cpu", "gpu0", "gpu0", "kernel", "kernel");
    assertThat(uaf.get(0).trace()).anyMatch(e -> e.contains("frameFreed pfn=" + pfn));
  }

  @Test
  void rawReads_areNeverReported() throws ErrnoException {
    long pfn = mem.alloc("x");
    mem.put(pfn);

    mem.rawReadLong(pfn, 0);
    mem.rawReadByte(pfn, 1);

    checker.assertClean();
  }

  @Test
  void bytesAndLongs_shareLittleEndianStorage() throws ErrnoException {
    long pfn = mem.alloc("x");
    mem.writeLong(pfn, 16, 0x0807060504030201L);
    mem.writeByte(pfn, 17, (byte) 0xff);
    mem.cpuWriteByte(MM, VA + 23, pfn, (byte) 0x80);

    assertThat(mem.readLong(pfn, 16)).isEqualTo(0x800706050403ff01L);
    byte[] out = new byte[8];
    mem.readBytes(pfn, 16, out, 0, 8);
    assertThat(out).containsExactly(1, (byte) 0xff, 3, 4, 5, 6, 7, (byte) 0x80);
    assertThat(mem.cpuReadLong(MM, VA + 16, pfn)).isEqualTo(mem.rawReadLong(pfn, 16));
    assertThat(mem.deviceReadByte("dev", CoherencyChecker.NO_OP, MM, VA + 18, pfn))
        .isEqualTo((byte) 3);
  }

  @Test
  void badOffsets_areRejected() throws ErrnoException {
    long pfn = mem.alloc("x");
    assertThatThrownBy(() -> mem.readLong(pfn, 4)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> mem.readLong(pfn, PhysicalMemory.PAGE_SIZE))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> mem.cpuReadLong(MM, VA + 3, pfn))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> mem.readByte(pfn, -1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> mem.writeBytes(pfn, 4090, new byte[8], 0, 8))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> mem.info(3)).hasMessageContaining("never allocated");
    assertThatThrownBy(() -> mem.info(5)).hasMessageContaining("outside this memory");
  }

  @Test
  void copy_duplicatesContents_includingFromTheZeroPage() throws ErrnoException {
    long a = mem.alloc("a");
    long b = mem.alloc("b");
    mem.writeLong(a, 0, 11);
    mem.writeLong(a, PhysicalMemory.PAGE_SIZE - 8, 22);

    mem.copy(a, b);
    mem.writeLong(a, 0, 33);

    assertThat(mem.readLong(b, 0)).as("a copy, not shared storage").isEqualTo(11);
    assertThat(mem.readLong(b, PhysicalMemory.PAGE_SIZE - 8)).isEqualTo(22);

    mem.copy(PhysicalMemory.ZERO_PFN, b);
    assertThat(mem.readLong(b, 0)).isZero();
    assertThat(mem.readLong(b, PhysicalMemory.PAGE_SIZE - 8)).isZero();
    assertThatThrownBy(() -> mem.copy(a, a)).isInstanceOf(IllegalArgumentException.class);
    checker.assertClean();
  }

  @Test
  void copy_fromFreedFrame_copiesPoisonAndIsReported() throws ErrnoException {
    long a = mem.alloc("a");
    long b = mem.alloc("b");
    mem.put(a);

    mem.copy(a, b);
    mem.copy(b, a);

    assertThat(mem.readLong(b, 64)).isEqualTo(PhysicalMemory.POISON);
    assertThat(checker.violations(ViolationKind.USE_AFTER_FREE))
        .extracting(Violation::deviceId, Violation::pfn)
        .containsExactly(tuple("kernel", a), tuple("kernel", a));
    assertThat(mem.state(a)).isEqualTo(FrameState.FREED);
  }

  @Test
  void concurrentAllocFreeAndCounts_keepBookkeepingExact() throws Exception {
    CoherencyChecker bigChecker = new CoherencyChecker();
    PhysicalMemory big = new PhysicalMemory(RealSyncRuntime.get(), 3000, bigChecker);
    int threads = 4;
    int rounds = 2000;
    AtomicInteger failures = new AtomicInteger();
    List<Thread> ts = new ArrayList<>();
    Set<Long> kept = Collections.synchronizedSet(new HashSet<>());
    for (int t = 0; t < threads; t++) {
      int id = t;
      Thread th =
          new Thread(
              () -> {
                try {
                  for (int i = 0; i < rounds; i++) {
                    long pfn = big.alloc("t" + id);
                    big.pin(pfn);
                    big.writeLong(pfn, 0, i);
                    big.get(pfn);
                    big.put(pfn);
                    big.put(pfn);
                    if (big.readLong(pfn, 0) != i) {
                      failures.incrementAndGet();
                    }
                    if (i % 10 == 0) {
                      kept.add(pfn);
                    } else {
                      big.unpin(pfn);
                    }
                  }
                } catch (ErrnoException | RuntimeException e) {
                  failures.incrementAndGet();
                }
              });
      ts.add(th);
      th.start();
    }
    for (Thread th : ts) {
      th.join();
    }

    assertThat(failures).hasValue(0);
    assertThat(big.allocatedFrames()).isEqualTo(kept.size()).isEqualTo(threads * rounds / 10);
    for (long pfn : kept) {
      assertThat(big.info(pfn).refcount()).isEqualTo(1);
    }
    bigChecker.assertClean();
  }

  @Test
  void allocContiguous_handsOutAnAlignedRunOfSingleReferenceFrames() throws ErrnoException {
    PhysicalMemory big = new PhysicalMemory(RealSyncRuntime.get(), 64, new CoherencyChecker());
    long first = big.alloc("before");

    long head = big.allocContiguous("thp", 4);

    assertThat(head % 16).isZero();
    for (long pfn = head; pfn < head + 16; pfn++) {
      assertThat(big.info(pfn)).isEqualTo(new FrameInfo(pfn, FrameState.ALLOCATED, 1, 1, 0, "thp"));
    }
    assertThat(big.allocatedFrames()).isEqualTo(17);
    long skipped = big.alloc("after");
    assertThat(skipped).as("a pfn skipped for alignment is reused").isBetween(first + 1, head - 1);
    big.put(head + 3);
    assertThat(big.state(head + 3)).isEqualTo(FrameState.FREED);
    assertThat(big.state(head + 4)).isEqualTo(FrameState.ALLOCATED);
  }

  @Test
  void allocContiguous_pastTheBudget_isEnomemAndChangesNothing() {
    PhysicalMemory small = new PhysicalMemory(RealSyncRuntime.get(), 8, new CoherencyChecker());

    assertThatThrownBy(() -> small.allocContiguous("thp", 4))
        .isInstanceOf(ErrnoException.class)
        .extracting(e -> ((ErrnoException) e).errno())
        .isEqualTo(Errno.ENOMEM);
    assertThat(small.allocatedFrames()).isZero();
  }
}
