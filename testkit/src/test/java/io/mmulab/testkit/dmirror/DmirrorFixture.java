package io.mmulab.testkit.dmirror;

import static io.mmulab.sim.mm.Mman.MAP_ANONYMOUS;
import static io.mmulab.sim.mm.Mman.MAP_PRIVATE;
import static io.mmulab.sim.mm.Mman.MAP_SHARED;
import static io.mmulab.sim.mm.Mman.PROT_READ;
import static io.mmulab.sim.mm.Mman.PROT_WRITE;

import io.mmulab.api.AddressSpace;
import io.mmulab.api.ErrnoException;
import io.mmulab.api.driver.DriverVariant;
import io.mmulab.api.sync.SyncRuntime;
import io.mmulab.core.sync.RealSyncRuntime;
import io.mmulab.sim.check.CoherencyChecker;
import io.mmulab.sim.mem.PhysicalMemory;
import io.mmulab.sim.mm.SimMachine;
import io.mmulab.sim.mm.SimProcess;
import java.util.ArrayList;
import java.util.List;

/**
 * A machine with one process {@code p}, the dmirror devices, and helpers to map memory and run
 * commands. Every mirror opened through it is closed by {@link #close}, which then asserts the
 * coherency checker saw no violation.
 */
final class DmirrorFixture implements AutoCloseable {
  static final long PAGE = AddressSpace.PAGE_SIZE;
  static final int WORDS = (int) (PAGE / 8);
  static final long HPAGE = 2L << 20;
  static final int RW = PROT_READ | PROT_WRITE;
  static final int ANON_PRIVATE = MAP_PRIVATE | MAP_ANONYMOUS;
  static final int ANON_SHARED = MAP_SHARED | MAP_ANONYMOUS;

  final SyncRuntime rt;
  final CoherencyChecker checker = new CoherencyChecker();
  final PhysicalMemory memory;
  final SimMachine machine;
  final SimProcess proc;
  final DmirrorDevices devices;
  final DriverVariant variant;
  private final List<DmirrorMirror> opened = new ArrayList<>();

  DmirrorFixture(DriverVariant variant) {
    this(variant, RealSyncRuntime.get(), 16_384);
  }

  DmirrorFixture(DriverVariant variant, SyncRuntime rt, int frames) {
    this.variant = variant;
    this.rt = rt;
    this.memory = new PhysicalMemory(rt, frames, checker);
    this.machine = new SimMachine(rt, memory);
    this.proc = machine.spawnProcess("p");
    this.devices = DmirrorDevices.of(machine);
  }

  /** Opens {@code /dev/hmm_dmirror<minor>} for {@code p}. */
  DmirrorMirror open(SimProcess p, int minor) throws ErrnoException {
    DmirrorMirror m = devices.device(minor).open(p, variant);
    opened.add(m);
    return m;
  }

  DmirrorMirror open() throws ErrnoException {
    return open(proc, 0);
  }

  long anon(int pages) throws ErrnoException {
    return proc.mmap(0, pages * PAGE, RW, ANON_PRIVATE);
  }

  /**
   * Private anonymous memory whose word {@code i} holds {@code i} (as the kernel tests fill it).
   */
  long filled(SimProcess p, int pages, int flags) throws ErrnoException {
    long a = p.mmap(0, pages * PAGE, RW, flags);
    for (int i = 0; i < pages * WORDS; i++) {
      p.store(a + 8L * i, i);
    }
    return a;
  }

  long filled(int pages) throws ErrnoException {
    return filled(proc, pages, ANON_PRIVATE);
  }

  /** A 2 MiB-aligned huge anonymous mapping of {@code blocks} blocks, every word {@code i} = i. */
  long huge(int blocks) throws ErrnoException {
    long raw =
        proc.mmap(0, (blocks + 1) * HPAGE, RW, ANON_PRIVATE | io.mmulab.sim.mm.Mman.MAP_HUGE);
    long a = (raw + HPAGE - 1) & -HPAGE;
    for (int i = 0; i < blocks * (int) (HPAGE / 8); i += WORDS) {
      proc.store(a + 8L * i, i);
    }
    return a;
  }

  static DmirrorCmd cmd(long addr, int npages) {
    return DmirrorCmd.withPages(addr, npages);
  }

  static DmirrorCmd run(DmirrorMirror m, DmirrorCommand c, long addr, int npages)
      throws ErrnoException {
    DmirrorCmd cmd =
        c == DmirrorCommand.SNAPSHOT
            ? DmirrorCmd.withPermBytes(addr, npages)
            : DmirrorCmd.withPages(addr, npages);
    m.ioctl(c, cmd);
    return cmd;
  }

  @Override
  public void close() {
    for (DmirrorMirror m : opened) {
      m.close();
    }
    checker.assertClean();
  }
}
