package io.mmulab.sim.mm;

import static io.mmulab.sim.mm.MmFixture.ANON_PRIVATE;
import static io.mmulab.sim.mm.MmFixture.HPAGE;
import static io.mmulab.sim.mm.MmFixture.PAGE;
import static io.mmulab.sim.mm.MmFixture.RW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.MmuIntervalNotifier;
import io.mmulab.api.MmuNotifier;
import io.mmulab.api.MmuNotifierRange;
import io.mmulab.core.MmuNotifierSubscriptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Fault injection: every mm operation that fires invalidations (or, for page aging, aging
 * callbacks), with one of three subscribers throwing (first, middle or last called; interval
 * subscriptions or classic notifiers; a {@link RuntimeException} or an {@link Error}). The
 * operation must end exactly as it does when nobody throws — same VMAs, same entries, same frames
 * allocated (none leaked, none freed twice), same swap slots, same contents — with no window left
 * open, every subscriber called, the throwable rethrown to the caller alone, and a later
 * invalidation reaching all three subscribers.
 */
class ThrowingCallbackMmOpsTest {
  private static final long MREMAP_TARGET = 0x7000_0000L;
  private static final Object OWNER = new Object();

  enum Kind {
    INTERVAL,
    CLASSIC
  }

  /** An operation: a setup (returning the process whose subscribers are watched) and the action. */
  private record Op(String name, Setup setup, Action action, boolean classicOnly) {
    @Override
    public String toString() {
      return name;
    }
  }

  @FunctionalInterface
  private interface Setup {
    SimProcess prepare(World w) throws Exception;
  }

  @FunctionalInterface
  private interface Action {
    void run(World w) throws Exception;
  }

  private static Op op(String name, Action action) {
    return new Op(name, w -> w.p, action, false);
  }

  private static Op op(String name, Setup setup, Action action) {
    return new Op(name, setup, action, false);
  }

  private static List<Op> ops() {
    return List.of(
        op("munmap", w -> w.p.munmap(w.anon, 2 * PAGE)),
        op("mmap MAP_FIXED", w -> w.p.mmap(w.anon, PAGE, RW, ANON_PRIVATE | Mman.MAP_FIXED)),
        op("mprotect", w -> w.p.mprotect(w.anon, 4 * PAGE, Mman.PROT_READ)),
        op("madvise DONTNEED", w -> w.p.madvise(w.anon, 2 * PAGE, Madvise.DONTNEED)),
        op("madvise FREE", w -> w.p.madvise(w.anon, 2 * PAGE, Madvise.FREE)),
        op("numa hinting", w -> w.p.numaProtect(w.anon, 4 * PAGE)),
        op("migrate", w -> w.p.migrate(w.anon, w.anon + 4 * PAGE, OWNER)),
        op(
            "migrate_vma slow path",
            w -> w.p.fork("child"), // watched: the child, whose mappings get the CLEARs
            w -> w.p.migrate(w.anon, w.anon + 4 * PAGE, OWNER)),
        op("reclaim", w -> w.p.reclaim(w.anon, w.anon + 4 * PAGE)),
        op("fork", w -> w.p.fork("child")),
        op("oom reap", w -> new OomReaper(2, 0).reap(w.p)),
        op("exit", w -> w.p.exit()),
        op(
            "cow fault",
            w -> {
              w.p.fork("child");
              return w.p;
            },
            w -> w.p.store(w.anon, 99)),
        op("clearSoftDirty", w -> w.p.clearSoftDirty()),
        op("mremap", w -> w.p.mremap(w.anon, 2 * PAGE, MREMAP_TARGET)),
        op(
            "mremap DONTUNMAP",
            w ->
                w.p.mremap(
                    w.anon,
                    2 * PAGE,
                    2 * PAGE,
                    Mman.MREMAP_MAYMOVE | Mman.MREMAP_FIXED | Mman.MREMAP_DONTUNMAP,
                    MREMAP_TARGET)),
        op("mremap shrink", w -> w.p.mremap(w.anon, 4 * PAGE, 2 * PAGE, 0, 0)),
        op(
            "huge zero page write",
            w -> {
              w.block = w.p.mmap(0, HPAGE, RW, ANON_PRIVATE | Mman.MAP_HUGE);
              w.p.load(w.block);
              return w.p;
            },
            w -> w.p.store(w.block + PAGE, 5)),
        op(
            "hugetlb cow fault",
            w -> {
              w.f.machine.hugetlbPool(2, 0);
              w.block = w.p.mmap(0, HPAGE, RW, ANON_PRIVATE | Mman.MAP_HUGETLB);
              w.p.store(w.block, 1);
              w.p.fork("child");
              return w.p;
            },
            w -> w.p.store(w.block + PAGE, 5)),
        op("writeback", w -> w.p.writeback(w.shared, w.shared + 2 * PAGE)),
        op(
            "ksmMerge",
            w -> {
              w.p.store(w.anon + PAGE, 1); // same contents as the first page
              return w.p;
            },
            w -> w.p.ksmMerge(w.anon, w.anon + PAGE)),
        op(
            "collapseHugePage",
            w -> {
              w.block = w.p.mmap(0, 2 * HPAGE, RW, ANON_PRIVATE) + HPAGE - 1 & -HPAGE;
              for (long va = w.block; va < w.block + HPAGE; va += PAGE) {
                w.p.store(va, va);
              }
              return w.p;
            },
            w -> w.p.collapseHugePage(w.block)),
        op(
            "madvise COLLAPSE",
            w -> {
              w.block = w.p.mmap(0, 2 * HPAGE, RW, ANON_PRIVATE) + HPAGE - 1 & -HPAGE;
              for (long va = w.block; va < w.block + HPAGE; va += 8 * PAGE) {
                w.p.store(va, va);
              }
              return w.p;
            },
            w -> w.p.madvise(w.block, HPAGE, Madvise.COLLAPSE)),
        op("compact", w -> w.p.compact(w.anon, w.anon + 4 * PAGE)),
        new Op("agePages", w -> w.p, w -> w.p.agePages(w.anon, w.anon + 4 * PAGE, true), true),
        op("truncate", w -> w.f.machine.truncate(w.file, 0)),
        op("makeDeviceExclusive", w -> w.p.makeDeviceExclusive(w.anon, w.anon + PAGE, OWNER)));
  }

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (Op op : ops()) {
      for (Kind kind : Kind.values()) {
        if (op.classicOnly() && kind == Kind.INTERVAL) {
          continue; // aging reaches classic notifiers only
        }
        for (int position = 0; position < 3; position++) {
          out.add(Arguments.of(op, kind, position, false));
          out.add(Arguments.of(op, kind, position, true));
        }
      }
    }
    return out.stream();
  }

  /** A machine with one process: four written anonymous pages and two of a shared file. */
  private static final class World {
    final MmFixture f = new MmFixture();
    final SimProcess p = f.proc;
    final SimFile file = f.machine.createFile("file", 4);
    final long anon;
    final long shared;
    long block;

    World() throws ErrnoException {
      anon = f.populated(4);
      shared = p.mmap(0, 2 * PAGE, RW, Mman.MAP_SHARED, file, 0);
      p.store(shared, 10);
      p.store(shared + PAGE, 11);
    }
  }

  /** Three subscribers in call order; the one at {@code throwing} throws while armed. */
  private static final class Subscribers {
    final AtomicInteger[] calls = {new AtomicInteger(), new AtomicInteger(), new AtomicInteger()};
    final AtomicBoolean armed = new AtomicBoolean();
    final List<MmuIntervalNotifier> subs = new ArrayList<>();
    final Throwable boom;
    final int throwing;

    Subscribers(SimProcess p, Kind kind, int throwing, Throwable boom) throws ErrnoException {
      this.throwing = throwing;
      this.boom = boom;
      if (kind == Kind.INTERVAL) {
        // Interval subscriptions are called in order of their start.
        for (int i = 0; i < 3; i++) {
          int index = i;
          subs.add(
              p.mm()
                  .insertIntervalNotifier(
                      i * PAGE,
                      -1L - i * PAGE,
                      (sub, range, curSeq) -> {
                        called(index);
                        return true;
                      }));
        }
      } else {
        // The newest classic registration is called first.
        for (int i = 2; i >= 0; i--) {
          p.mm().registerNotifier(classic(i));
        }
      }
    }

    void called(int index) {
      calls[index].incrementAndGet();
      if (index == throwing && armed.get()) {
        sneakyThrow(boom);
      }
    }

    MmuNotifier classic(int index) {
      return new MmuNotifier() {
        @Override
        public boolean invalidateRangeStart(MmuNotifierRange range) {
          called(index);
          return true;
        }

        @Override
        public void invalidateRangeEnd(MmuNotifierRange range) {
          called(index);
        }

        @Override
        public void release(AddressSpace mm) {
          called(index);
        }

        @Override
        public void invalidateSecondaryTlbs(AddressSpace mm, long start, long end) {
          called(index);
        }

        @Override
        public boolean clearFlushYoung(AddressSpace mm, long start, long end) {
          called(index);
          return false;
        }

        @Override
        public boolean clearYoung(AddressSpace mm, long start, long end) {
          called(index);
          return false;
        }

        @Override
        public boolean testYoung(AddressSpace mm, long address) {
          called(index);
          return false;
        }
      };
    }

    void reset() {
      for (AtomicInteger c : calls) {
        c.set(0);
      }
    }

    List<Integer> counts() {
      return List.of(calls[0].get(), calls[1].get(), calls[2].get());
    }
  }

  /** What must come out the same with and without the throw. */
  private record ProcessState(
      String name, boolean tornDown, List<String> vmas, List<PteView> entries, List<Long> data) {}

  private record MachineState(
      List<ProcessState> processes,
      int allocatedFrames,
      int swapSlots,
      long filePages,
      List<Boolean> fileCached) {}

  private static MachineState snapshot(World w, boolean includeChildren) {
    List<ProcessState> ps = new ArrayList<>();
    for (SimProcess p : w.f.machine.processes()) {
      if (!includeChildren && p != w.p) {
        continue;
      }
      List<String> vmas = new ArrayList<>();
      List<PteView> entries = new ArrayList<>();
      List<Long> data = new ArrayList<>();
      for (Vma v : p.sim().vmas()) {
        vmas.add(Long.toHexString(v.start()) + "-" + Long.toHexString(v.end()) + " " + v.prot());
        for (long va = v.start(); va < v.end(); va += PAGE) {
          PteView e = p.pte(va);
          entries.add(e);
          if (e.type() == PteView.Type.PRESENT) {
            data.add(w.f.memory.rawReadLong(e.pfn(), 0));
          }
        }
      }
      ps.add(new ProcessState(p.name(), p.sim().isTornDown(), vmas, entries, data));
    }
    List<Boolean> fileCached = new ArrayList<>();
    for (long i = 0; i < 4; i++) {
      fileCached.add(w.file.isCached(i));
    }
    return new MachineState(
        ps, w.f.memory.allocatedFrames(), w.f.machine.swapSlotsInUse(), w.file.pages(), fileCached);
  }

  @ParameterizedTest(name = "{0}, {1} subscriber #{2} throws, Error={3}")
  @MethodSource("cases")
  void throwingCallbackLosesNothing(Op op, Kind kind, int position, boolean error)
      throws Exception {
    Throwable boom =
        error ? new Error("device error in a callback") : new IllegalStateException("driver bug");

    // The reference run: nobody throws.
    World twin = new World();
    SimProcess twinWatched = op.setup().prepare(twin);
    Subscribers twinSubs = new Subscribers(twinWatched, kind, position, boom);
    op.action().run(twin);
    boolean isFork = op.name().equals("fork");
    MachineState expected = snapshot(twin, !isFork);

    World w = new World();
    SimProcess watched = op.setup().prepare(w);
    Subscribers subs = new Subscribers(watched, kind, position, boom);
    subs.armed.set(true);

    Throwable thrown = catchThrowable(() -> op.action().run(w));

    subs.armed.set(false);
    assertThat(thrown).as("the callback's throwable, rethrown alone").isSameAs(boom);
    assertThat(thrown.getSuppressed()).as("nothing else went wrong").isEmpty();
    assertThat(subs.counts())
        .as("every subscriber was called")
        .allSatisfy(c -> assertThat(c).isPositive())
        .isEqualTo(twinSubs.counts());
    assertThat(snapshot(w, !isFork)).isEqualTo(expected);
    if (isFork) {
      // No child can be returned with a throwable: it was torn down, freeing nothing shared.
      SimProcess child = w.f.machine.processes().get(w.f.machine.processes().size() - 1);
      assertThat(child.sim().isTornDown()).isTrue();
      assertThat(child.sim().vmas()).isEmpty();
    }
    for (SimProcess p : w.f.machine.processes()) {
      MmuNotifierSubscriptions s = p.mm().notifierSubscriptions();
      assertThat(s.activeInvalidateRanges()).as("no window left open").isZero();
      assertThat(s.invalidateSeq()).isEven();
      s.checkConsistency();
    }
    w.f.checker.assertClean();
    twin.f.checker.assertClean();

    // A later invalidation reaches every subscriber.
    if (!watched.isExited()) {
      subs.reset();
      long a = watched.mmap(0, PAGE, RW, ANON_PRIVATE);
      watched.store(a, 1);
      watched.munmap(a, PAGE);
      assertThat(subs.counts()).allSatisfy(c -> assertThat(c).isPositive());
      for (MmuIntervalNotifier sub : subs.subs) {
        sub.remove();
      }
    }
  }

  private static void sneakyThrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      throw r;
    }
    throw (Error) t;
  }
}
