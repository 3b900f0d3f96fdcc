package io.mmulab.sim.hmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.Errno;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuNotifierEvent;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.Mman;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The pre-5.5 hmm core: range flags, the open-window count, the blind spot, refusals, release. */
class HmmMirrorTest {
  private static final long PAGE = PhysicalMemory.PAGE_SIZE;

  private final SyncRuntime rt = RealSyncRuntime.get();
  private final List<String> calls = new ArrayList<>();
  private SimProcess proc;
  private long base;
  private boolean refuseNonBlockable;
  private Runnable insideSync = () -> {};
  private HmmMirror hmm;

  @BeforeEach
  void setUp() throws ErrnoException {
    SimMachine machine = new SimMachine(rt, new PhysicalMemory(rt, 64, new CoherencyChecker()));
    proc = machine.spawnProcess("app");
    base =
        proc.mmap(
            0, 4 * PAGE, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    for (int p = 0; p < 4; p++) {
      proc.store(base + p * PAGE, p + 1);
    }
    hmm =
        new HmmMirror(
            rt,
            proc.mm(),
            "dev0",
            new HmmMirror.Ops() {
              @Override
              public boolean syncCpuDevicePagetables(MmuNotifierRange range) {
                calls.add("sync " + range.event() + (range.blockable() ? "" : " nonblock"));
                insideSync.run();
                return range.blockable() || !refuseNonBlockable;
              }

              @Override
              public void release(AddressSpace mm) {
                calls.add("release");
              }
            });
    hmm.register();
  }

  private MmuNotifierRange range(long start, long end, boolean blockable) {
    return new MmuNotifierRange(proc.mm(), start, end, MmuNotifierEvent.CLEAR, blockable, null);
  }

  @Test
  void aRangeIsInvalidExactlyWhileAnOverlappingInvalidationIsOpen() throws Exception {
    HmmMirror.Range hit = hmm.registerRange(base, base + PAGE);
    HmmMirror.Range elsewhere = hmm.registerRange(base + 3 * PAGE, base + 4 * PAGE);
    List<Boolean> seenInside = new ArrayList<>();
    insideSync =
        () -> {
          seenInside.add(hit.valid());
          seenInside.add(elsewhere.valid());
          HmmMirror.Range late = hmm.registerRange(base + 2 * PAGE, base + 3 * PAGE);
          seenInside.add(late.valid()); // registered while a window is open: invalid
          late.remove();
        };

    proc.munmap(base, PAGE);

    assertThat(calls).containsExactly("sync UNMAP");
    assertThat(seenInside).containsExactly(false, true, false);
    assertThat(hit.valid()).isTrue();
    assertThat(elsewhere.valid()).isTrue();
  }

  @Test
  void theBlindSpot_theLastEndMakesARangeValidThoughAnInvalidationRanAfterItsLookup() {
    HmmMirror.Range r = hmm.registerRange(base, base + PAGE);
    long seq = r.readBegin(); // the lookup starts: the range is valid

    hmm.invalidateRangeStart(range(base, base + PAGE, true));
    assertThat(r.readRetry(seq)).isTrue();
    hmm.invalidateRangeEnd(range(base, base + PAGE, true));

    assertThat(r.readRetry(seq)).as("nothing remembers the window").isFalse();
    assertThat(r.valid()).isTrue();
  }

  @Test
  void nestedWindows_theRangeStaysInvalidUntilTheLastEnd() {
    HmmMirror.Range r = hmm.registerRange(base, base + 2 * PAGE);

    hmm.invalidateRangeStart(range(base, base + PAGE, true));
    hmm.invalidateRangeStart(range(base + 3 * PAGE, base + 4 * PAGE, true)); // elsewhere
    hmm.invalidateRangeEnd(range(base, base + PAGE, true));
    assertThat(r.valid()).as("one window still open").isFalse();
    hmm.invalidateRangeEnd(range(base + 3 * PAGE, base + 4 * PAGE, true));

    assertThat(r.valid()).isTrue();
  }

  @Test
  void aRefusedNonBlockableStart_closesItsOwnWindow() throws Exception {
    refuseNonBlockable = true;
    HmmMirror.Range r = hmm.registerRange(base, base + PAGE);

    assertThat(hmm.invalidateRangeStart(range(base, base + PAGE, false))).isFalse();

    assertThat(calls).containsExactly("sync CLEAR nonblock");
    assertThat(r.valid()).as("no end follows a refusal").isTrue();
    hmm.waitUntilValid(r, rt.clock().nanoTime()); // valid now: no wait, no EBUSY
  }

  @Test
  void waitUntilValid_aRangeStillInvalidAtTheDeadline_isEbusyNamingIt() {
    HmmMirror.Range r = hmm.registerRange(base, base + PAGE);
    hmm.invalidateRangeStart(range(base, base + PAGE, true));

    assertThatThrownBy(() -> hmm.waitUntilValid(r, rt.clock().nanoTime() + 1_000_000))
        .isInstanceOfSatisfying(
            ErrnoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY))
        .hasMessageContaining("dev0 hmm range [0x" + Long.toHexString(base));
    hmm.invalidateRangeEnd(range(base, base + PAGE, true));
  }

  @Test
  void aRemovedRangeIsNoLongerTracked() {
    HmmMirror.Range r = hmm.registerRange(base, base + PAGE);
    r.remove();

    hmm.invalidateRangeStart(range(base, base + PAGE, true));

    assertThat(r.valid()).as("not marked: it left the list").isTrue();
    hmm.invalidateRangeEnd(range(base, base + PAGE, true));
  }

  @Test
  void anEmptyRange_isRejectedByValue() {
    assertThatThrownBy(() -> hmm.registerRange(base, base))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0x" + Long.toHexString(base));
  }

  @Test
  void aRangeHasNoSequenceToSet() {
    HmmMirror.Range r = hmm.registerRange(base, base + PAGE);

    assertThatThrownBy(() -> r.setSeq(1)).isInstanceOf(UnsupportedOperationException.class);
    assertThat(r.addressSpace()).isSameAs(proc.mm());
    assertThat(r.start()).isEqualTo(base);
    assertThat(r.last()).isEqualTo(base + PAGE - 1);
  }

  @Test
  void processExit_callsRelease_andUnregisterAfterwardsIsQuiet() {
    proc.exit();
    hmm.unregister();

    assertThat(calls).containsExactly("release");
  }

  @Test
  void unregister_callsReleaseOnce_thenNoCallbackArrives() throws Exception {
    hmm.unregister();
    proc.munmap(base, PAGE);

    assertThat(calls).containsExactly("release");
  }
}
