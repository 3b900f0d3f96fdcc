package io.mmulab.driver.umemodp;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierFactory;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.hmm.HmmRange;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.MmBackend;
import io.mmulab.core.MmStruct;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.driver.DriverStats;
import io.mmulab.testkit.lincheck.LincheckRun;
import io.mmulab.testkit.lincheck.ModelCheckedRuntime;
import io.mmulab.testkit.lincheck.RacingThreads;
import org.jetbrains.lincheck.Lincheck;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of the nested-invalidation program on the driver's real classes ({@link
 * UmemOdpPerMm} and {@link UmemOdpLegacyUmem}, {@link UmemOdpConsolidatedUmem}) with the real core
 * ({@link MmStruct}) and {@link RealSyncRuntime}: one thread zaps a page of a registered region
 * with a huge-page split nested inside (start, start, page change, end, end), the other registers a
 * second region. Legacy: Lincheck finds the interleaving where the registration's write request
 * lands between the two starts, with a kernel-like writer-preferring {@code umem_rwsem}, and the
 * program deadlocks. Consolidated: no interleaving hangs, and the region's one MTT entry is gone or
 * maps the current frame.
 *
 * <p>The hardware is minimal (the whole NIC stack is too heavy for Lincheck): the "CPU page table"
 * is one volatile frame a test {@link MmBackend} returns from GUP, the region's table one entry
 * behind {@link UmemOdpMtt}; DMA mapping is the identity.
 */
class UmemOdpLincheckTest {
  private static final long NONE = -1;
  private static final long OLD_FRAME = 1;
  private static final long NEW_FRAME = 2;
  private static final long PAGE = AddressSpace.PAGE_SIZE;
  private static final long BLOCK = 0x200000;
  private static final long START = BLOCK + PAGE;
  private static final long OTHER = 0x800000;

  private static final int CLEAN_INVOCATIONS =
      Integer.getInteger("mmulab.lincheck.invocations", 10);
  private static final int LEGACY_INVOCATIONS = 300;

  /** One page of translation table. */
  private static final class OneEntry implements UmemOdpMtt {
    final long start;
    volatile long pfn = NONE; // written under the umem's umem_mutex

    OneEntry(long start) {
      this.start = start;
    }

    @Override
    public long start() {
      return start;
    }

    @Override
    public long end() {
      return start + PAGE;
    }

    @Override
    public String deviceId() {
      return "nic.mr@" + Long.toHexString(start);
    }

    @Override
    public String subscription() {
      return null;
    }

    @Override
    public void umrUpdate(long va, long dmaAddress, boolean writable) {
      pfn = dmaAddress / PAGE;
    }

    @Override
    public void umrZap(long from, long to) {
      if (Long.compareUnsigned(from, end()) < 0 && Long.compareUnsigned(to, start) > 0) {
        pfn = NONE;
      }
    }
  }

  /** Everything one invocation uses. */
  private static final class World implements UmemOdpContext, MmBackend {
    volatile long cpuFrame = OLD_FRAME;
    final SyncRuntime rt = ModelCheckedRuntime.withSteppingClock(300_000_000L);
    final MmStruct mm = new MmStruct(rt, "lincheck", m -> this);
    final DriverStats stats = new DriverStats();
    final UmemOdpLiveness liveness = new UmemOdpLiveness(rt);
    final MmuNotifierFactory<UmemOdpPerMm> perMm =
        new MmuNotifierFactory<>() {
          @Override
          public UmemOdpPerMm allocNotifier(AddressSpace a) {
            return new UmemOdpPerMm(a, new WriterPreferringRwSem("umem_rwsem"));
          }

          @Override
          public void freeNotifier(UmemOdpPerMm notifier) {}
        };
    final DriverVariant variant;
    final OneEntry entry = new OneEntry(START);

    World(DriverVariant variant) {
      this.variant = variant;
      try {
        UmemOdpUmem umem = register(entry);
        while (!umem.pagefault(START, false)) {
          // an invalidation would have to run: nothing else runs yet
        }
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    }

    UmemOdpUmem register(OneEntry table) throws ErrnoException {
      return variant == DriverVariant.LEGACY
          ? UmemOdpLegacyUmem.get(this, table)
          : new UmemOdpConsolidatedUmem(this, table);
    }

    // The device context
    @Override
    public AddressSpace mm() {
      return mm;
    }

    @Override
    public SyncRuntime runtime() {
      return rt;
    }

    @Override
    public DriverStats stats() {
      return stats;
    }

    @Override
    public UmemOdpLiveness liveness() {
      return liveness;
    }

    @Override
    public void subscribed(String deviceId, String subscription, long start, long end) {}

    @Override
    public void unsubscribed(String deviceId, String subscription) {}

    @Override
    public void callbackEntered(String deviceId, String subscription, long start, long end) {}

    @Override
    public void callbackReturned(
        String deviceId, String subscription, long start, long end, long seq) {}

    @Override
    public long dmaMap(long pfn) {
      return dmaAddress(pfn);
    }

    @Override
    public void dmaUnmap(long dmaAddress) {}

    @Override
    public long dmaAddress(long pfn) {
      return pfn * PAGE;
    }

    @Override
    public void putPage(long pfn) {}

    @Override
    public MmuNotifierFactory<UmemOdpPerMm> perMmFactory() {
      return perMm;
    }

    // The CPU page table
    @Override
    public int getUserPages(long start, int nrPages, int gupFlags, long[] pfns) {
      pfns[0] = cpuFrame;
      return 1;
    }

    @Override
    public void hmmRangeFault(HmmRange range) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void exitMmap() {}

    /** MADV_DONTNEED of one page of a huge page: the split nests inside the zap. */
    void zap() {
      MmuNotifierRange outer = MmuNotifierRange.of(mm, MmuNotifierEvent.CLEAR, START, START + PAGE);
      MmuNotifierRange split =
          MmuNotifierRange.of(mm, MmuNotifierEvent.CLEAR, BLOCK, BLOCK + 512 * PAGE);
      mm.invalidateRangeStart(outer);
      mm.invalidateRangeStart(split);
      cpuFrame = NEW_FRAME;
      mm.invalidateRangeEnd(split);
      mm.invalidateRangeEnd(outer);
    }

    void registerAnother() {
      try {
        register(new OneEntry(OTHER));
      } catch (ErrnoException e) {
        throw new AssertionError(e);
      }
    }
  }

  private static Runnable scenario(DriverVariant variant) {
    return () -> {
      World w = new World(variant);
      RacingThreads.race("cpu-zap", w::zap, "register", w::registerAnother);
      long mapped = w.entry.pfn;
      if (mapped != NONE && mapped != w.cpuFrame) {
        throw new AssertionError(
            "stale MTT entry: the NIC maps frame " + mapped + " but the CPU maps " + w.cpuFrame);
      }
    };
  }

  @Test
  void consolidated_nestedZapVsRegistration_neitherHangsNorLeavesAStaleEntry() {
    LincheckRun.assertClean(
        LincheckRun.run(
            "umem-odp CONSOLIDATED",
            CLEAN_INVOCATIONS,
            () ->
                Lincheck.runConcurrentTest(
                    CLEAN_INVOCATIONS, scenario(DriverVariant.CONSOLIDATED))));
  }

  @Test
  void legacy_nestedZapVsRegistration_lincheckFindsTheDeadlock() {
    LincheckRun.assertFound(
        LincheckRun.run(
            "umem-odp LEGACY",
            LEGACY_INVOCATIONS,
            () -> Lincheck.runConcurrentTest(LEGACY_INVOCATIONS, scenario(DriverVariant.LEGACY))),
        "the nested-read deadlock");
  }
}
